#pragma once
// Boost 1.74 with GCC 12 in C++20 needs <utility> before any Asio header; include Asio and
// Beast only through this header.
#include <utility>
#include <boost/asio.hpp>
