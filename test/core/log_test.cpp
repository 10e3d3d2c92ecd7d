// Logging: the DEBUG-style spec, the sink, silence by default, records from a real loopback session.
#include <sio/log.hpp>
#include <sio/sio.hpp>

#include <boost/test/unit_test.hpp>

#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "support/sio_loopback.hpp"
#include <unistd.h>

using namespace sio_test;

namespace {

struct entry {
    sio::log_level level;
    std::string scope;
    std::string message;
};

/// A sink that keeps every record.
class collector {
public:
    sio::log_sink sink() {
        return [this](const sio::log_record& r) {
            std::lock_guard lock(mutex_);
            entries_.push_back({r.level, std::string(sio::name(r.scope)), std::string(r.message)});
            cv_.notify_all();
        };
    }
    std::vector<entry> entries() const {
        std::lock_guard lock(mutex_);
        return entries_;
    }
    std::set<std::string> scopes() const {
        std::set<std::string> out;
        for (const auto& e : entries())
            out.insert(e.scope);
        return out;
    }
    /// Waits until a record of `scope` whose message contains `text` arrived.
    bool wait(std::string_view scope, std::string_view text, duration limit = io_limit) {
        std::unique_lock lock(mutex_);
        return cv_.wait_for(lock, limit, [&] {
            for (const auto& e : entries_)
                if (e.scope == scope && e.message.find(text) != std::string::npos)
                    return true;
            return false;
        });
    }
    bool has(std::string_view scope, std::string_view text) const {
        for (const auto& e : entries())
            if (e.scope == scope && e.message.find(text) != std::string::npos)
                return true;
        return false;
    }

private:
    mutable std::mutex mutex_;
    std::condition_variable cv_;
    std::vector<entry> entries_;
};

/// Every test starts and ends with the default configuration: default sink, no scope.
struct reset_logging {
    reset_logging() { reset(); }
    ~reset_logging() { reset(); }
    static void reset() {
        sio::set_log_sink({});
        sio::enable_log_scopes("");
    }
};

/// Sends what is written to fd 2 to a temporary file while alive; `text()` reads it back.
class capture_stderr {
public:
    capture_stderr() {
        std::fflush(stderr);
        file_ = std::tmpfile();
        if (!file_)
            throw std::runtime_error("tmpfile");
        saved_ = ::dup(STDERR_FILENO);
        ::dup2(::fileno(file_), STDERR_FILENO);
    }
    ~capture_stderr() {
        restore();
        std::fclose(file_);
    }
    std::string text() {
        restore();
        std::string out;
        std::rewind(file_);
        char buf[4096];
        std::size_t n;
        while ((n = std::fread(buf, 1, sizeof buf, file_)) > 0)
            out.append(buf, n);
        return out;
    }

private:
    void restore() {
        if (saved_ < 0)
            return;
        std::fflush(stderr);
        ::dup2(saved_, STDERR_FILENO);
        ::close(saved_);
        saved_ = -1;
    }
    std::FILE* file_ = nullptr;
    int saved_ = -1;
};

/// A namespace whose sockets join a room on `join`, echo `echo` (to the room, through the adapter), and
/// throw from `boom`.
void install_handlers(sio::server& io) {
    io.of("/").on_connection([](sio::socket s) {
        s.on_event("join", [](sio::socket s, sio::event&) {
            s.join("room1");
            s.to("room1").emit("joined"); // a broadcast (to nobody: the sender is excluded)
        });
        s.on_event("echo", [](sio::socket s, sio::event& ev) {
            s.emit_arguments("echo", ev.args);
            if (ev.ack)
                ev.ack.send({});
        });
        s.on_event("boom", [](sio::socket, sio::event&) { throw std::runtime_error("handler exploded"); });
    });
}

/// One session: connect, join a room, echo, a throwing handler, a bad packet (the server closes).
void run_session(sio_server& ts) {
    auto c = ts.client();
    c.connect();
    c.send(R"(42["join"])");
    c.send(R"(421["echo","hi"])");
    BOOST_TEST(c.read() == R"(42["echo","hi"])");
    BOOST_TEST(c.read() == R"(431[])");
    c.send(R"(42["boom"])");
    c.send(R"(42["echo","after"])"); // still served after the throwing handler
    BOOST_TEST(c.read() == R"(42["echo","after"])");
    c.send("4{not a packet");
    BOOST_TEST(c.closed());
}

} // namespace

BOOST_AUTO_TEST_SUITE(spec)

BOOST_AUTO_TEST_CASE(names_are_the_reference_namespaces) {
    using sio::log_scope;
    BOOST_TEST(sio::name(log_scope::engine) == "engine");
    BOOST_TEST(sio::name(log_scope::engine_socket) == "engine:socket");
    BOOST_TEST(sio::name(log_scope::engine_ws) == "engine:ws");
    BOOST_TEST(sio::name(log_scope::engine_polling) == "engine:polling");
    BOOST_TEST(sio::name(log_scope::server) == "socket.io:server");
    BOOST_TEST(sio::name(log_scope::socket) == "socket.io:socket");
    BOOST_TEST(sio::name(log_scope::namespace_) == "socket.io:namespace");
    BOOST_TEST(sio::name(log_scope::client) == "socket.io:client");
    BOOST_TEST(sio::name(log_scope::parser) == "socket.io-parser");
    BOOST_TEST(sio::name(log_scope::adapter) == "socket.io-adapter");
    BOOST_TEST(sio::name(sio::log_level::warning) == "warning");
}

BOOST_AUTO_TEST_CASE(wildcards_and_exclusions) {
    using sio::log_spec_enables;
    BOOST_TEST(log_spec_enables("engine", "engine"));
    BOOST_TEST(!log_spec_enables("engine", "engine:socket"));
    BOOST_TEST(log_spec_enables("engine*", "engine:socket"));
    BOOST_TEST(log_spec_enables("engine:*", "engine:ws"));
    BOOST_TEST(!log_spec_enables("engine:*", "engine"));
    BOOST_TEST(log_spec_enables("socket.io*", "socket.io:server"));
    BOOST_TEST(log_spec_enables("socket.io*", "socket.io-parser"));
    BOOST_TEST(log_spec_enables("socket.io*", "socket.io-adapter"));
    BOOST_TEST(!log_spec_enables("socket.io:*", "socket.io-parser"));
    BOOST_TEST(log_spec_enables("*", "socket.io-parser"));
    BOOST_TEST(log_spec_enables("*,-engine:*", "engine"));
    BOOST_TEST(!log_spec_enables("*,-engine:*", "engine:polling"));
    BOOST_TEST(log_spec_enables("*,-engine:*", "socket.io:client"));
    BOOST_TEST(!log_spec_enables("-engine,engine", "engine")); // exclusions win, whatever the order
    BOOST_TEST(log_spec_enables("  engine:ws   socket.io:client ", "socket.io:client")); // spaces
    BOOST_TEST(log_spec_enables("engine:ws,,socket.io:client", "engine:ws"));
    BOOST_TEST(log_spec_enables("*:socket", "engine:socket"));
    BOOST_TEST(log_spec_enables("*:socket", "socket.io:socket"));
    BOOST_TEST(log_spec_enables("s*o*-p*", "socket.io-parser")); // several stars, backtracking
    BOOST_TEST(!log_spec_enables("s*o*-p*x", "socket.io-parser"));
    BOOST_TEST(!log_spec_enables("", "engine"));
    BOOST_TEST(!log_spec_enables("-*", "engine"));
    BOOST_TEST(!log_spec_enables("-", "engine"));
    BOOST_TEST(!log_spec_enables("Engine", "engine")); // case-sensitive, like `debug`
}

BOOST_FIXTURE_TEST_CASE(enable_sets_the_scopes, reset_logging) {
    using sio::log_level;
    using sio::log_scope;
    BOOST_TEST(!sio::log_enabled(log_scope::engine, log_level::error)); // nothing by default
    sio::enable_log_scopes("engine,socket.io*,-socket.io-adapter");
    BOOST_TEST(sio::log_enabled(log_scope::engine, log_level::debug));
    BOOST_TEST(!sio::log_enabled(log_scope::engine_ws, log_level::debug));
    BOOST_TEST(sio::log_enabled(log_scope::server, log_level::debug));
    BOOST_TEST(sio::log_enabled(log_scope::parser, log_level::info));
    BOOST_TEST(!sio::log_enabled(log_scope::adapter, log_level::debug));
    BOOST_TEST(!sio::log_enabled(log_scope::adapter, log_level::error)); // default sink: scope must be on
    collector c;
    sio::set_log_sink(c.sink());
    BOOST_TEST(!sio::log_enabled(log_scope::adapter, log_level::info));
    BOOST_TEST(sio::log_enabled(log_scope::adapter, log_level::warning)); // a user sink gets warnings
    sio::enable_log_scopes("");
    BOOST_TEST(!sio::log_enabled(log_scope::engine, log_level::debug));
    BOOST_TEST(sio::log_enabled(log_scope::engine, log_level::error));
    sio::set_log_sink({});
    BOOST_TEST(!sio::log_enabled(log_scope::engine, log_level::error));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(sink)

BOOST_FIXTURE_TEST_CASE(default_sink_writes_one_line_per_record, reset_logging) {
    capture_stderr cap;
    sio::log(sio::log_scope::engine, sio::log_level::debug, "not enabled");
    sio::enable_log_scopes("engine,socket.io-parser");
    sio::log(sio::log_scope::engine, sio::log_level::debug, "hello there");
    sio::log(sio::log_scope::parser, sio::log_level::warning, "bad packet");
    sio::log(sio::log_scope::engine_ws, sio::log_level::error, "not enabled either");
    sio::log(sio::log_scope::engine, sio::log_level::debug, "forged\nline \x1b[31m");
    const std::string out = cap.text();
    BOOST_TEST(out.find("not enabled") == std::string::npos);
    BOOST_TEST(out.find("engine hello there") != std::string::npos);
    BOOST_TEST(out.find("socket.io-parser warning: bad packet") != std::string::npos);
    BOOST_TEST(out.find("engine forged\\x0aline \\x1b[31m") != std::string::npos); // escaped
    BOOST_TEST(std::count(out.begin(), out.end(), '\n') == 3);
}

BOOST_FIXTURE_TEST_CASE(a_throwing_sink_is_contained, reset_logging) {
    sio::set_log_sink([](const sio::log_record&) { throw std::runtime_error("sink"); });
    sio::enable_log_scopes("*");
    BOOST_CHECK_NO_THROW(sio::log(sio::log_scope::engine, sio::log_level::debug, "x"));
}

BOOST_FIXTURE_TEST_CASE(silent_by_default, reset_logging) {
    // Nothing configured: a whole session, with a throwing handler and a parse error, prints nothing.
    capture_stderr cap;
    {
        sio_server ts;
        install_handlers(ts.io());
        ts.start();
        run_session(ts);
        ts.stop();
    }
    const std::string out = cap.text();
    BOOST_TEST(out.empty(), "stderr got: " << out);
}

BOOST_FIXTURE_TEST_CASE(user_sink_gets_the_enabled_scopes, reset_logging) {
    collector c;
    sio::set_log_sink(c.sink());
    sio::enable_log_scopes("engine*,socket.io:*,-engine:polling");
    {
        sio_server ts;
        install_handlers(ts.io());
        ts.start();
        run_session(ts);
        auto second = ts.client();
        second.connect();
        second.send("42[\"" + std::string(5000, 'x') + "\"]"); // a long event name: the record is cut
        second.send(R"(42["echo","x"])");
        BOOST_TEST(second.read() == R"(42["echo","x"])");
        BOOST_TEST(c.wait("socket.io:socket", "disconnects: "));
        BOOST_TEST(c.wait("socket.io:namespace", "removed from /"));
        ts.stop();
    }
    BOOST_TEST(c.has("engine", "handshaking client"));
    BOOST_TEST(c.has("engine:socket", "open (websocket)"));
    BOOST_TEST(c.has("engine:ws", "websocket transport running"));
    BOOST_TEST(c.has("socket.io:server", "incoming connection with id"));
    BOOST_TEST(c.has("socket.io:client", "connecting to namespace /"));
    BOOST_TEST(c.has("socket.io:client", "closing connection"));
    BOOST_TEST(c.has("socket.io:namespace", "added to /"));
    BOOST_TEST(c.has("socket.io:socket", "joins room1"));
    BOOST_TEST(c.has("socket.io:socket", "got event echo"));
    BOOST_TEST(c.has("socket.io:socket", "emits echo"));
    BOOST_TEST(c.has("socket.io:socket", "sends ack 1"));
    BOOST_TEST(c.has("socket.io:socket", "handler exploded"));
    BOOST_TEST(c.has("socket.io:server", "closing server"));
    // Not enabled: the parser, the adapter, polling (no warning came from them either).
    const auto scopes = c.scopes();
    BOOST_TEST(!scopes.contains("socket.io-parser"));
    BOOST_TEST(!scopes.contains("socket.io-adapter"));
    BOOST_TEST(!scopes.contains("engine:polling"));
    for (const auto& e : c.entries()) {
        BOOST_TEST(!e.message.empty());
        BOOST_TEST(e.message.size() <= 2048u + 3u);
    }
    BOOST_TEST(c.has("socket.io:socket", "xxxxxxxx..."));
}

BOOST_FIXTURE_TEST_CASE(parser_and_adapter_scopes, reset_logging) {
    collector c;
    sio::set_log_sink(c.sink());
    sio::enable_log_scopes("socket.io-*");
    {
        sio_server ts;
        install_handlers(ts.io());
        ts.start();
        run_session(ts);
        BOOST_TEST(c.wait("socket.io-parser", "cannot decode a packet"));
        ts.stop();
    }
    BOOST_TEST(c.has("socket.io-parser", "decoded EVENT for /"));
    BOOST_TEST(c.has("socket.io-adapter", "broadcast on / to 0 sockets"));
    const auto scopes = c.scopes();
    BOOST_TEST(!scopes.contains("engine"));
    BOOST_TEST(!scopes.contains("socket.io:client"));
}

BOOST_FIXTURE_TEST_CASE(warnings_reach_a_user_sink_without_scopes, reset_logging) {
    collector c;
    sio::set_log_sink(c.sink());
    {
        sio_server ts;
        install_handlers(ts.io());
        ts.start();
        run_session(ts);
        ts.stop();
    }
    const auto entries = c.entries();
    BOOST_TEST_REQUIRE(entries.size() >= 1u);
    bool found = false;
    for (const auto& e : entries) {
        BOOST_TEST((e.level == sio::log_level::warning || e.level == sio::log_level::error));
        if (e.scope == "socket.io:socket" &&
            e.message.find("a handler of event boom threw: handler exploded") != std::string::npos)
            found = true;
    }
    BOOST_TEST(found);
}

BOOST_FIXTURE_TEST_CASE(concurrent_logging_and_reconfiguration, reset_logging) {
    std::atomic<std::size_t> delivered{0};
    auto counting = [&delivered](const sio::log_record& r) {
        if (r.message == "tick")
            delivered.fetch_add(1, std::memory_order_relaxed);
    };
    sio::set_log_sink(counting);
    sio::enable_log_scopes("engine");
    constexpr int threads = 4, per_thread = 2000;
    std::atomic<bool> stop{false};
    std::vector<std::thread> loggers;
    for (int t = 0; t < threads; ++t)
        loggers.emplace_back([] {
            for (int i = 0; i < per_thread; ++i)
                sio::log(sio::log_scope::engine, sio::log_level::warning, "tick");
        });
    // Meanwhile: the sink and the scopes change (always a counting sink, and warnings always go to it).
    std::thread reconfigure([&] {
        for (int i = 0; !stop.load(); ++i) {
            sio::set_log_sink(counting);
            sio::enable_log_scopes(i % 2 ? "engine" : "socket.io*");
        }
    });
    for (auto& t : loggers)
        t.join();
    stop = true;
    reconfigure.join();
    BOOST_TEST(delivered.load() == std::size_t(threads * per_thread));
}

BOOST_AUTO_TEST_SUITE_END()
