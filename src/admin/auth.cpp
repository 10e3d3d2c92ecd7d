// The Admin UI's authentication: bcrypt hashes checked with the system's crypt_r, and the in-memory store of
// the session ids given to UIs that logged in.
#include <sio/admin.hpp>

#include <chrono>
#include <cstring>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "payloads.hpp"
#include <crypt.h>
#include <openssl/crypto.h>

namespace sio::admin {

bool is_bcrypt_hash(std::string_view hash) noexcept {
    // $2b$10$ + 22 characters of salt + 31 of digest, in bcrypt's base64 alphabet.
    if (hash.size() != 60 || hash[0] != '$' || hash[1] != '2' || hash[3] != '$' || hash[6] != '$')
        return false;
    if (hash[2] != 'a' && hash[2] != 'b' && hash[2] != 'y')
        return false;
    if (hash[4] < '0' || hash[4] > '9' || hash[5] < '0' || hash[5] > '9')
        return false;
    const int cost = (hash[4] - '0') * 10 + (hash[5] - '0');
    if (cost < 4 || cost > 31)
        return false;
    for (char c : hash.substr(7)) {
        const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                        c == '.' || c == '/';
        if (!ok)
            return false;
    }
    return true;
}

bool bcrypt_verify(std::string_view password, std::string_view hash) {
    if (!is_bcrypt_hash(hash))
        return false;
    // crypt_r takes C strings: a password with a NUL byte cannot match what the UI's user typed.
    if (password.find('\0') != std::string_view::npos)
        return false;
    const std::string pw(password);
    const std::string setting(hash);
    auto data = std::make_unique<crypt_data>(); // about 32 KB: not on the stack
    std::memset(data.get(), 0, sizeof(crypt_data));
    const char* out = crypt_r(pw.c_str(), setting.c_str(), data.get());
    if (!out || std::strlen(out) != setting.size() || out[0] == '*')
        return false;
    return CRYPTO_memcmp(out, setting.data(), setting.size()) == 0;
}

namespace detail {

bool bcrypt_hash_usable(std::string_view hash) {
    if (!is_bcrypt_hash(hash))
        return false;
    // The hash's scheme and salt at the lowest cost (fast whatever the hash's own cost): crypt_r must
    // support the scheme and give the salt back unchanged. It does not for a salt whose last character
    // carries bits bcrypt ignores: no password could then ever match the hash.
    std::string setting(hash.substr(0, 29));
    setting[4] = '0';
    setting[5] = '4';
    auto data = std::make_unique<crypt_data>();
    std::memset(data.get(), 0, sizeof(crypt_data));
    const char* out = crypt_r("sio", setting.c_str(), data.get());
    return out && std::strlen(out) == hash.size() && std::string_view(out, 29) == setting;
}

} // namespace detail

namespace {

class memory_store final : public session_store {
public:
    memory_store(std::chrono::seconds lifetime, std::size_t capacity)
        : lifetime_(lifetime), capacity_(capacity == 0 ? 1 : capacity) {}

    boost::asio::awaitable<bool> exists(std::string id) override { co_return check(id); }

    void save(std::string id) override {
        std::lock_guard lock(mutex_);
        const auto now = clock::now();
        while (order_.size() >= capacity_) {
            expiry_.erase(order_.front());
            order_.pop_front();
        }
        if (expiry_.emplace(id, now + lifetime_).second)
            order_.push_back(std::move(id));
    }

private:
    using clock = std::chrono::steady_clock;

    bool check(const std::string& id) {
        std::lock_guard lock(mutex_);
        auto it = expiry_.find(id);
        if (it == expiry_.end())
            return false;
        if (it->second <= clock::now()) { // left in order_: dropped when it reaches the front
            expiry_.erase(it);
            return false;
        }
        return true;
    }

    const std::chrono::seconds lifetime_;
    const std::size_t capacity_;
    std::mutex mutex_;
    std::unordered_map<std::string, clock::time_point> expiry_;
    std::deque<std::string> order_;
};

} // namespace

std::shared_ptr<session_store> make_memory_store(std::chrono::seconds lifetime, std::size_t capacity) {
    return std::make_shared<memory_store>(lifetime, capacity);
}

} // namespace sio::admin
