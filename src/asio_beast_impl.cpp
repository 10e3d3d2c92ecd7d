// Asio and Beast are compiled once, here (separate compilation, docs/architecture.md): the other files of
// the library include their headers without compiling their implementation.
#include <boost/asio/impl/src.hpp>
#include <boost/asio/ssl/impl/src.hpp>
#include <boost/beast/src.hpp>
