// Private to the library: breaking reference cycles when an io_context is destroyed with sessions open.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/execution_context.hpp>

#include <memory>
#include <mutex>
#include <unordered_map>

namespace sio::engineio::detail {

class teardown_service;

/// An object that holds references in a cycle while it is alive (a session and the hooks capturing its
/// owner, a client and its sockets, a namespace and its sockets) and breaks the cycle when it closes.
/// Closing runs handlers; when the io_context is stopped and destroyed before they ran, nothing would
/// break the cycle. Registered objects are abandoned instead when the io_context shuts down.
/// Construct with the executor whose context owns the object's strands and timers; the object must be
/// created with `abandonable::make<T>(...)`.
class abandonable {
public:
    /// `std::make_shared<T>(args...)`, registered.
    /// T derives from std::enable_shared_from_this<T>: the service reaches the object through that weak
    /// reference (one function pointer here instead of a second weak reference).
    template <class T, class... Args>
    static std::shared_ptr<T> make(Args&&... args) {
        auto p = std::make_shared<T>(std::forward<Args>(args)...);
        p->abandonable::enroll([](abandonable* a) noexcept -> std::shared_ptr<abandonable> {
            return static_cast<T*>(a)->weak_from_this().lock();
        });
        return p;
    }

    /// Drops every reference the object holds to other objects (hooks, handlers, children, queued data).
    /// Called on the thread destroying the io_context, once no handler can run any more.
    virtual void abandon() noexcept = 0;

protected:
    explicit abandonable(const boost::asio::any_io_executor& ex);
    ~abandonable();
    abandonable(const abandonable&) = delete;
    abandonable& operator=(const abandonable&) = delete;

private:
    friend class teardown_service;
    using lock_function = std::shared_ptr<abandonable> (*)(abandonable*) noexcept;
    void enroll(lock_function lock);

    teardown_service& service_;
    // The service's list of registered objects (guarded by its mutex): intrusive, so registering
    // allocates nothing.
    abandonable* prev_ = nullptr;
    abandonable* next_ = nullptr;
    // The object, or null once its destructor may have started (its enable_shared_from_this reference:
    // that base outlives this one while the object is destroyed).
    lock_function lock_ = nullptr;
};

/// The io_context service holding the registered objects (weakly; they deregister when destroyed).
class teardown_service : public boost::asio::execution_context::service {
public:
    using key_type = teardown_service;
    static inline boost::asio::execution_context::id id;

    explicit teardown_service(boost::asio::execution_context& ctx) : service(ctx) {}

    void add(abandonable* obj);
    void remove(abandonable* obj) noexcept;

private:
    void shutdown() override;

    std::mutex mutex_;
    abandonable* head_ = nullptr; // the registered objects, most recent first
};

} // namespace sio::engineio::detail
