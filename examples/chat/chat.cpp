#include "chat.hpp"

#include <boost/json.hpp>

#include <algorithm>
#include <chrono>
#include <string>

namespace chat {
namespace {

namespace json = boost::json;
constexpr std::size_t max_name = 32;
constexpr std::size_t max_channel = 24;
constexpr std::size_t max_message = 2000;
constexpr const char* lobby = "general";

std::string room_of(std::string_view channel) {
    return "channel:" + std::string(channel);
}

/// A user name: 1 to 32 printable characters after trimming, or empty when invalid.
std::string clean_name(std::string name) {
    const auto blank = [](unsigned char c) { return c == ' ' || c == '\t'; };
    while (!name.empty() && blank(name.back()))
        name.pop_back();
    name.erase(name.begin(), std::find_if_not(name.begin(), name.end(), blank));
    const bool printable = std::none_of(name.begin(), name.end(), [](unsigned char c) { return c < 0x20; });
    return printable && name.size() <= max_name ? name : std::string();
}

/// A channel name: 1 to 24 of [a-z0-9-], or empty when invalid.
std::string clean_channel(std::string name) {
    std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
    const bool ok = !name.empty() && name.size() <= max_channel &&
                    std::all_of(name.begin(), name.end(), [](unsigned char c) {
                        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
                    });
    return ok ? name : std::string();
}

std::string username_of(const sio::socket& s) {
    const auto* obj = s.data().if_object();
    const auto* name = obj ? obj->if_contains("username") : nullptr;
    return name && name->is_string() ? std::string(name->get_string()) : std::string();
}

std::string channel_of(const sio::socket& s) {
    const auto* obj = s.data().if_object();
    const auto* channel = obj ? obj->if_contains("channel") : nullptr;
    return channel && channel->is_string() ? std::string(channel->get_string()) : std::string(lobby);
}

json::object user_event(std::string_view username, std::size_t users) {
    return {{"username", username}, {"numUsers", users}};
}

json::object channel_event(std::string_view username, std::string_view channel) {
    return {{"username", username}, {"channel", channel}};
}

json::object failure(std::string_view message) {
    return {{"ok", false}, {"error", message}};
}

json::object welcome(std::size_t users, std::string_view channel) {
    return {{"ok", true}, {"numUsers", users}, {"channel", channel}};
}

json::object chat_message(std::string_view username, std::string_view channel, std::string_view text) {
    const auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::system_clock::now().time_since_epoch());
    return {{"username", username}, {"channel", channel}, {"message", text}, {"time", now.count()}};
}

void set_user(const sio::socket& s, std::string_view username, std::string_view channel) {
    s.data() = json::object{{"username", username}, {"channel", channel}};
}

/// Users logged in across every server of the cluster.
boost::asio::awaitable<std::size_t> count_users(sio::server& io) {
    const sio::fetch_sockets_result users = co_await io.in("users").fetch_sockets();
    co_return users.size();
}

/// Logs in on the first valid "add user" (name, ack): joins the lobby, tells everyone. Returns the name, or
/// empty when the client disconnected first. A recovered socket is logged in already.
boost::asio::awaitable<std::string> log_in(sio::server& io, sio::socket s) {
    if (std::string name = username_of(s); !name.empty())
        co_return name;
    while (auto ev = co_await s.receive("add user")) {
        std::string name;
        if (ev->args.size() > 0 && ev->args.values[0].is_string())
            name = clean_name(std::string(ev->args.values[0].get_string()));
        if (name.empty()) {
            ev->ack(failure("a name is 1 to 32 printable characters"));
            continue;
        }
        set_user(s, name, lobby);
        s.join(std::vector<std::string>{"users", room_of(lobby)});
        const std::size_t users = co_await count_users(io);
        ev->ack(welcome(users, lobby));
        s.broadcast().emit("user joined", user_event(name, users));
        co_return name;
    }
    co_return std::string();
}

/// One user's session, from the connection to the disconnection: log in, then refuse a second login
/// (messages, typing and channels are handled by the socket's `on()` handlers), then say goodbye.
boost::asio::awaitable<void> session(sio::server& io, sio::socket s) {
    const std::string name = co_await log_in(io, s);
    if (name.empty())
        co_return;                         // left before logging in: nobody to tell
    while (auto ev = co_await s.receive()) // what no handler takes: a second "add user", unknown events
        if (ev->name == "add user")
            ev->ack(failure("already logged in"));
    const std::size_t users = co_await count_users(io);
    io.emit("user left", user_event(name, users));
}

void on_message(sio::socket s, std::string text, sio::ack ack) {
    const std::string name = username_of(s);
    if (name.empty() || text.empty() || text.size() > max_message)
        return ack(failure("log in first; a message is 1 to 2000 bytes"));
    const json::object message = chat_message(name, channel_of(s), text);
    s.to(room_of(channel_of(s))).emit("new message", message);
    ack(json::object{{"ok", true}, {"message", message}});
}

void on_typing(sio::socket s, bool typing) {
    const std::string name = username_of(s);
    if (!name.empty())
        s.to(room_of(channel_of(s)))
            .emit(typing ? "typing" : "stop typing", channel_event(name, channel_of(s)));
}

void on_join_channel(sio::socket s, std::string requested, sio::ack ack) {
    const std::string name = username_of(s);
    const std::string channel = clean_channel(std::move(requested));
    if (name.empty() || channel.empty())
        return ack(failure("log in first; a channel name is 1 to 24 of a-z, 0-9 and -"));
    const std::string previous = channel_of(s);
    if (channel != previous) {
        s.to(room_of(previous)).emit("user left channel", channel_event(name, previous));
        s.leave(room_of(previous));
        s.join(room_of(channel));
        set_user(s, name, channel);
        s.to(room_of(channel)).emit("user joined channel", channel_event(name, channel));
    }
    ack(json::object{{"ok", true}, {"channel", channel}});
}

} // namespace

void install(sio::server& io) {
    io.on_connection([&io](sio::socket s) {
        s.on("new message", on_message);
        s.on("typing", [](sio::socket s) { on_typing(std::move(s), true); });
        s.on("stop typing", [](sio::socket s) { on_typing(std::move(s), false); });
        s.on("join channel", on_join_channel);
        return session(io, std::move(s)); // runs as the socket's session coroutine
    });
}

} // namespace chat
