# Writes OUTPUT, a C++ source defining `std::string_view NAMESPACE::FUNCTION()` that returns
# the bytes of INPUT. Run at build time by fti_embed() in CMakeLists.txt, so the binary never
# reads the file at run time. With JSON_KEY set, INPUT must parse as JSON and hold that key
# (a broken file stops the build, not a request).
#   cmake -DINPUT=... -DOUTPUT=... -DNAMESPACE=... -DFUNCTION=... [-DJSON_KEY=...] -P embed.cmake
foreach(var INPUT OUTPUT NAMESPACE FUNCTION)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "embed.cmake: ${var} is not set")
  endif()
endforeach()

if(DEFINED JSON_KEY AND NOT JSON_KEY STREQUAL "")
  file(READ "${INPUT}" text)
  string(JSON value ERROR_VARIABLE json_error GET "${text}" "${JSON_KEY}")
  if(json_error)
    message(FATAL_ERROR "${INPUT} is not valid JSON or has no \"${JSON_KEY}\": ${json_error}")
  endif()
endif()

file(READ "${INPUT}" hex HEX)
string(LENGTH "${hex}" hex_length)
math(EXPR size "${hex_length} / 2")
# Sixteen bytes to a line: "0x7b,0x0a,..." (CMake regexes have no {n} repetition).
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
string(REPEAT "0x[0-9a-f][0-9a-f]," 16 line)
string(REGEX REPLACE "(${line})" "\\1\n    " bytes "${bytes}")

get_filename_component(name "${INPUT}" NAME)
file(WRITE "${OUTPUT}"
"// Generated from ${name} by cmake/embed.cmake at build time; do not edit.
#include <cstddef>
#include <string_view>

namespace ${NAMESPACE} {

namespace {
// One byte more than the file (a final NUL), so an empty file still makes a valid array.
constexpr unsigned char kBytes[] = {
    ${bytes}0x00};
}  // namespace

std::string_view ${FUNCTION}() {
  return {reinterpret_cast<const char*>(kBytes), ${size}};
}

}  // namespace ${NAMESPACE}
")
