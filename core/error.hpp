// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
#pragma once
// The one error type: how far a failure reaches (scope) and what failed (kind).
// Returned in Result<T>; no exception crosses a module boundary.

#include <string>
#include <utility>
#include <variant>

namespace clamfetch {

/// How much a failure takes down; the caller skips exactly that much and goes on (stops()).
/// Written where the failure is made when the callee knows it; a caller that handles the
/// failure at another level says so where it decides, with with_scope().
enum class Scope { message, mailbox, account, run };

/// What failed. Maps to fetchmail's exit codes in exactly one place: exit_code().
enum class Kind {
  connect,       // 2  socket / connect error
  tls,           // 2  certificate or handshake failure (fetchmail reports these as socket errors)
  auth,          // 3  authentication failed
  protocol,      // 4  malformed or unexpected reply
  config,        // 5  syntax error in arguments or rc file
  permissions,   // 6  rc file permissions
  server,        // 7  server reported an error
  timeout,       // 7  server timed out
  locked,        // 8  another clamfetch instance is running
  lock_busy,     // 9  mailbox lock busy on the server
  mta,           // 10 SMTP/LMTP error
  dns,           // 11 host name did not resolve
  fetchlimit,    // 13 poll ended by fetchlimit
  server_busy,   // 14 server busy
  scan,          // 23 scanner failure (message deferred by on_fail)
  state,         // 23 state on disk could not be written
  internal,      // 23 internal error
};

struct Error {
  Scope scope = Scope::account;
  Kind kind = Kind::internal;
  std::string text;  ///< one line, no secrets
};

/// What a failure stops in a poll. The one place a scope becomes handling: the poller and the
/// delivery pool ask stops() and nothing else.
enum class Stops {
  message,  ///< this message stays on the server; the rest of its folder goes on
  folder,   ///< this folder's poll ends; the account's next folder goes on
  account,  ///< this account's poll ends (nothing more is handed on); other accounts go on
  run,      ///< no further account is polled in this run
};

/// What `error` stops, from its scope alone.
Stops stops(const Error& error);

/// The same error, handled at `scope`: for a caller that knows better than the callee how far
/// the failure reaches (a UID store write failure ends the account, wherever it came from).
Error with_scope(Error error, Scope scope);

/// fetchmail's exit code for an error kind.
int exit_code(Kind kind);
/// fetchmail's exit code for an error: the only way a poll turns a failure into a code.
int exit_code(const Error& error);

inline Error make_error(Kind kind, Scope scope, std::string text) {
  return Error{scope, kind, std::move(text)};
}

/// A value or an Error. C++20 has no std::expected; this is the small subset we use.
template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}
  Result(Error error) : v_(std::move(error)) {}

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  const Error& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(std::move(error)), ok_(false) {}

  bool ok() const { return ok_; }
  explicit operator bool() const { return ok_; }
  const Error& error() const { return error_; }

 private:
  Error error_;
  bool ok_ = true;
};

using Status = Result<void>;

}  // namespace clamfetch
