#pragma once
// Private to the cleanup room: the language a file is written in, as the report names it.
#include <string>

namespace fti::cleanup::detail {

// "Python", "C++", "Makefile"... by file name and extension; empty when unknown.
std::string language_of(const std::string& rel);

}  // namespace fti::cleanup::detail
