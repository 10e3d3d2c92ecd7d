// Asio and Beast are compiled once, here (separate compilation; see DESIGN.md §7).
#include <boost/asio/impl/src.hpp>
#include <boost/asio/ssl/impl/src.hpp>
#include <boost/beast/src.hpp>
