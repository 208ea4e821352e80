// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
// Errors handled by scope: stops() is the one place a scope becomes handling, the exit code
// comes from the Error alone, and the scopes the issue found mislabelled say what their
// handling does (a malformed UID stops the account: a record that fails ends it).

#include <catch2/catch.hpp>

#include <stdlib.h>

#include <filesystem>
#include <string>

#include "core/error.hpp"
#include "fetch/fetch.hpp"

namespace fs = std::filesystem;
using namespace clamfetch;

TEST_CASE("each scope stops exactly its own level") {
  CHECK(stops(make_error(Kind::mta, Scope::message, "x")) == Stops::message);
  CHECK(stops(make_error(Kind::server, Scope::mailbox, "x")) == Stops::folder);
  CHECK(stops(make_error(Kind::state, Scope::account, "x")) == Stops::account);
  CHECK(stops(make_error(Kind::config, Scope::run, "x")) == Stops::run);
  // Ordered: a wider failure stops everything a narrower one does.
  CHECK(Stops::message < Stops::folder);
  CHECK(Stops::folder < Stops::account);
  CHECK(Stops::account < Stops::run);
}

TEST_CASE("with_scope changes the handling, not what failed") {
  Error e = with_scope(make_error(Kind::state, Scope::run, "disk full"), Scope::account);
  CHECK(stops(e) == Stops::account);
  CHECK(e.kind == Kind::state);
  CHECK(e.text == "disk full");
}

TEST_CASE("the exit code comes from the error alone, whatever its scope") {
  for (Scope scope : {Scope::message, Scope::mailbox, Scope::account, Scope::run}) {
    CHECK(exit_code(make_error(Kind::auth, scope, "x")) == 3);
    CHECK(exit_code(make_error(Kind::mta, scope, "x")) == 10);
    CHECK(exit_code(make_error(Kind::state, scope, "x")) == 23);
  }
}

TEST_CASE("a malformed UID is an account-scoped failure: recording it stops the account") {
  std::string pattern = (fs::temp_directory_path() / "cf-scopes-XXXXXX").string();
  REQUIRE(mkdtemp(pattern.data()) != nullptr);
  {
    auto store = fetch::UidStore::open(pattern, "pop3://u@h:995");
    REQUIRE(store.ok());
    Status recorded = store->record("INBOX", "has space", false, 10);
    REQUIRE_FALSE(recorded.ok());
    CHECK(stops(recorded.error()) == Stops::account);
  }
  std::error_code ignored;
  fs::remove_all(pattern, ignored);
}
