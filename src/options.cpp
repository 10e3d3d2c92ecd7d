#include <sio/options.hpp>

#include <boost/url/parse.hpp>

#include <algorithm>
#include <cctype>

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
    for (const auto& f : fields_)
        if (iequals(f.first, name))
            return std::string_view(f.second);
    return std::nullopt;
}

void header_list::set(std::string_view name, std::string_view value) {
    erase(name);
    add(name, value);
}

void header_list::erase(std::string_view name) {
    std::erase_if(fields_, [&](const field& f) { return iequals(f.first, name); });
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
