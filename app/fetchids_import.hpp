// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
#pragma once
// --import-fetchmailrc FILE [--fetchids FILE]: fetchmail's UID state (.fetchids) into the UID
// store, so that the first poll after switching does not deliver again what fetchmail
// delivered and left on the server (keep).

#include <string>

namespace clamfetch::app {

/// Marks the UIDs that `fetchids` lists for each POP3 account of `toml` (the converted rc
/// file; `toml_name` names it in messages) as known in the UID store of `state_dir`, so that
/// clamfetch neither retrieves them (unless fetchall) nor deletes them on that strength.
/// Adds only: a UID the store already holds anything about is left as it is, so that an
/// import never overwrites what clamfetch itself recorded, and a second import changes
/// nothing. Takes the instance lock (a running clamfetch would rewrite the store from its own
/// copy). Prints one line per POP3 account on stderr ("imported N UIDs for user@host") and
/// one per user@host of the file that matches no POP3 account. A missing file is not an error
/// unless `explicit_path` (--fetchids). Returns the exit code: 0; 5 unreadable file or
/// unparsable TOML; 8 another clamfetch running; 23 store not writable.
int import_fetchids(const std::string& toml, const std::string& toml_name, const std::string& fetchids,
                    bool explicit_path, const std::string& state_dir);

}  // namespace clamfetch::app
