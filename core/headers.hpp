#pragma once
// Pure RFC 5322 header helpers shared by scan (X-Virus-*) and deliver (Received, Return-Path,
// report facts). Work on raw bytes; tolerate CRLF or bare LF; never allocate more than the input.

#include <string>
#include <string_view>

namespace clamfetch::headers {

/// Length of the header block including the blank line that ends it (or the whole input
/// when there is no body).
std::size_t header_end(std::string_view message);

/// Unfolded value of the first header `name` (case-insensitive), trimmed; empty when absent.
std::string value(std::string_view message, std::string_view name);

/// The message with every header `name` (and its continuation lines) removed.
std::string remove(std::string_view message, std::string_view name);

/// The address inside angle brackets of a Return-Path / From value ("<a@b>" -> "a@b",
/// "Name <a@b>" -> "a@b", "a@b" -> "a@b", "<>" -> "").
std::string address(std::string_view header_value);

}  // namespace clamfetch::headers
