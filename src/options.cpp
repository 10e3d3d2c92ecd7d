#include <sio/options.hpp>

#include <boost/url/parse.hpp>

#include <algorithm>
#include <cctype>
#include <limits>
#include <stdexcept>

namespace sio {
namespace {

bool iequals(std::string_view a, std::string_view b) noexcept {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) ==
                      std::tolower(static_cast<unsigned char>(y));
           });
}

} // namespace

std::optional<std::string_view> header_list::get(std::string_view name) const noexcept {
    for (std::size_t i = 0; i < entries_.size(); ++i)
        if (const auto f = at(i); iequals(f.first, name))
            return f.second;
    return std::nullopt;
}

void header_list::add(std::string_view name, std::string_view value) {
    // Header sizes are capped far below 4 GiB by the HTTP parser; a list built by the application that
    // outgrows 32-bit offsets is a programming error.
    if (text_.size() + name.size() + value.size() > std::numeric_limits<std::uint32_t>::max())
        throw std::length_error("sio::header_list: more than 4 GiB of header text");
    entries_.push_back({static_cast<std::uint32_t>(text_.size()), static_cast<std::uint32_t>(name.size()),
                        static_cast<std::uint32_t>(value.size())});
    text_.append(name);
    text_.append(value);
}

void header_list::set(std::string_view name, std::string_view value) {
    erase(name);
    add(name, value);
}

void header_list::erase(std::string_view name) {
    // Rebuilds the buffer without the fields called `name` (rare: response headers edited by a hook).
    header_list kept;
    kept.reserve(entries_.size(), text_.size());
    for (const auto f : *this)
        if (!iequals(f.first, name))
            kept.add(f.first, f.second);
    if (kept.size() != size())
        *this = std::move(kept);
}

void header_list::reserve(std::size_t fields, std::size_t bytes) {
    entries_.reserve(fields);
    text_.reserve(bytes);
}

std::optional<std::string> request_info::query(std::string_view name) const {
    auto url = boost::urls::parse_origin_form(target);
    if (!url)
        return std::nullopt;
    for (auto param : url->params())
        if (param.key == name)
            return std::string(param.value);
    return std::nullopt;
}

} // namespace sio
