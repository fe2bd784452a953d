#pragma once
// Result<T>: the value of an operation that can fail in a way the caller is expected to handle.
// Exceptions are for bugs and start-up failures only (see docs/architecture.md, "Errors").
#include <string>
#include <utility>
#include <variant>

#include "fti/core/error.hpp"

namespace fti {

template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : data_(std::move(value)) {}         // NOLINT(google-explicit-constructor)
  Result(Error error) : data_(std::move(error)) {}     // NOLINT(google-explicit-constructor)

  bool ok() const { return std::holds_alternative<T>(data_); }
  explicit operator bool() const { return ok(); }

  T& value() & { return std::get<T>(data_); }
  const T& value() const& { return std::get<T>(data_); }
  T&& value() && { return std::get<T>(std::move(data_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

  const Error& error() const { return std::get<Error>(data_); }

  template <class U>
  T value_or(U&& fallback) const& {
    return ok() ? value() : static_cast<T>(std::forward<U>(fallback));
  }

 private:
  std::variant<T, Error> data_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(std::move(error)), failed_(true) {}  // NOLINT
  bool ok() const { return !failed_; }
  explicit operator bool() const { return ok(); }
  const Error& error() const { return error_; }

 private:
  Error error_;
  bool failed_ = false;
};

using Status = Result<void>;

inline Status ok_status() { return {}; }

}  // namespace fti

// Propagates the error of a Result-returning expression; binds the value otherwise.
#define FTI_CONCAT_INNER(a, b) a##b
#define FTI_CONCAT(a, b) FTI_CONCAT_INNER(a, b)
#define FTI_TRY(expr)                                  \
  do {                                                 \
    auto&& fti_try_result_ = (expr);                   \
    if (!fti_try_result_.ok()) return fti_try_result_.error(); \
  } while (0)
#define FTI_ASSIGN_OR_RETURN(lhs, expr) FTI_ASSIGN_OR_RETURN_IMPL(FTI_CONCAT(fti_r_, __LINE__), lhs, expr)
#define FTI_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                              \
  if (!tmp.ok()) return tmp.error();              \
  lhs = std::move(tmp).value()
