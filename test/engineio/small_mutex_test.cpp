// The four-byte lock of every session's inbox (src/engineio/small_mutex.hpp).
#include <boost/test/unit_test.hpp>

#include <mutex>
#include <thread>
#include <vector>

#include "engineio/small_mutex.hpp"

using sio::engineio::detail::small_mutex;

BOOST_AUTO_TEST_CASE(is_four_bytes) {
    BOOST_TEST(sizeof(small_mutex) == 4u);
}

// Threads that add to a plain counter under the lock lose no update (and TSan sees no race); with more
// threads than cores, lockers also sleep and are woken.
BOOST_AUTO_TEST_CASE(excludes_other_threads) {
    small_mutex m;
    long counter = 0;
    std::vector<long> seen;
    constexpr int threads = 6;
    constexpr int rounds = 20000;
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t)
        pool.emplace_back([&] {
            for (int i = 0; i < rounds; ++i) {
                const std::lock_guard lock(m);
                const long before = counter;
                counter = before + 1;
                if (i % 5000 == 0)
                    seen.push_back(counter); // two writers at once could lose an element
            }
        });
    for (auto& t : pool)
        t.join();
    BOOST_TEST(counter == long{threads} * rounds);
    BOOST_TEST(seen.size() == std::size_t{threads} * (rounds / 5000));
}
