# SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
# Dependencies, found the standard way; nothing is downloaded.
find_package(PkgConfig REQUIRED)
find_package(OpenSSL 3 REQUIRED)
find_package(Threads REQUIRED)
pkg_check_modules(LIBETPAN REQUIRED IMPORTED_TARGET libetpan)
pkg_check_modules(LIBCLAMAV REQUIRED IMPORTED_TARGET libclamav)
pkg_check_modules(TOMLPLUSPLUS REQUIRED IMPORTED_TARGET tomlplusplus)
# OAuth 2.0 token requests (oauth/): libcurl's OpenSSL flavour (Debian's libcurl4: TLS on the
# same OpenSSL as the mail servers'). Its -dev package conflicts with libcurl4-gnutls-dev, which
# libetpan-dev needs: the headers (the same for every flavour) come from the latter and the
# OpenSSL library is linked by its soname.
find_path(CURL_INCLUDE_DIR curl/curl.h REQUIRED)
find_library(CLAMFETCH_CURL_OPENSSL NAMES libcurl.so.4 curl REQUIRED)
add_library(clamfetch_curl INTERFACE)
target_include_directories(clamfetch_curl INTERFACE ${CURL_INCLUDE_DIR})
target_link_libraries(clamfetch_curl INTERFACE ${CLAMFETCH_CURL_OPENSSL})
message(STATUS "libcurl: ${CLAMFETCH_CURL_OPENSSL}")
# JSON (OAuth2 failure challenges in fetch/): Debian's nlohmann-json3-dev, header-only.
find_package(nlohmann_json 3 REQUIRED)

# Debian's libetpan.pc adds -specs=/usr/share/dpkg/no-pie-link.specs, which silently makes
# every binary that links it non-PIE. Drop it.
foreach(prop INTERFACE_LINK_OPTIONS INTERFACE_LINK_LIBRARIES)
  get_target_property(values PkgConfig::LIBETPAN ${prop})
  if(values)
    list(FILTER values EXCLUDE REGEX "-specs=")
    set_target_properties(PkgConfig::LIBETPAN PROPERTIES ${prop} "${values}")
  endif()
endforeach()

# libetpan linked statically when the archive is there (Debian's libetpan-dev ships it): the
# objects clamfetch uses need neither GnuTLS nor libdb (TLS is ours, on OpenSSL), and loading
# libetpan.so's dependencies cost an empty poll about 2 ms of its ~25 ms (bench/NOTES.md). The
# price: a libetpan security update needs a rebuild; -DCLAMFETCH_STATIC_LIBETPAN=OFF links the
# shared library instead (what a distribution package would do).
option(CLAMFETCH_STATIC_LIBETPAN "Link libetpan.a (without GnuTLS) when available" ON)
add_library(clamfetch_libetpan INTERFACE)
find_library(LIBETPAN_ARCHIVE NAMES libetpan.a)
if(CLAMFETCH_STATIC_LIBETPAN AND LIBETPAN_ARCHIVE)
  find_library(LIBSASL2_LIBRARY NAMES sasl2 REQUIRED)
  find_library(LIBLOCKFILE_LIBRARY NAMES lockfile REQUIRED)
  target_include_directories(clamfetch_libetpan INTERFACE ${LIBETPAN_INCLUDE_DIRS})
  target_link_libraries(clamfetch_libetpan INTERFACE ${LIBETPAN_ARCHIVE} ${LIBSASL2_LIBRARY} ${LIBLOCKFILE_LIBRARY})
  message(STATUS "libetpan: static (${LIBETPAN_ARCHIVE})")
else()
  target_link_libraries(clamfetch_libetpan INTERFACE PkgConfig::LIBETPAN)
  message(STATUS "libetpan: shared")
endif()

# libclamav's soname, for scan/'s dlopen(), and the Debian package that ships it (the package
# must depend on it by name: dpkg-shlibdeps cannot see a library that is not linked).
find_library(LIBCLAMAV_SHARED NAMES clamav HINTS ${LIBCLAMAV_LIBRARY_DIRS} REQUIRED)
execute_process(COMMAND objdump -p ${LIBCLAMAV_SHARED} OUTPUT_VARIABLE clamav_dynamic RESULT_VARIABLE rc)
string(REGEX MATCH "SONAME +([^\n ]+)" found "${clamav_dynamic}")
if(NOT rc EQUAL 0 OR NOT found)
  message(FATAL_ERROR "cannot read the soname of ${LIBCLAMAV_SHARED} (objdump -p)")
endif()
set(CLAMFETCH_LIBCLAMAV_SONAME ${CMAKE_MATCH_1})
get_filename_component(clamav_dir ${LIBCLAMAV_SHARED} DIRECTORY)
execute_process(COMMAND dpkg-query -S ${clamav_dir}/${CLAMFETCH_LIBCLAMAV_SONAME}
                OUTPUT_VARIABLE clamav_owner ERROR_QUIET RESULT_VARIABLE rc)
if(rc EQUAL 0)
  string(REGEX REPLACE "[:,].*" "" CLAMFETCH_LIBCLAMAV_PACKAGE "${clamav_owner}")
endif()
# Cached so that debian/rules can read it from CMakeCache.txt (the package's Depends).
set(CLAMFETCH_LIBCLAMAV_PACKAGE "${CLAMFETCH_LIBCLAMAV_PACKAGE}" CACHE INTERNAL "package shipping the libclamav soname")
message(STATUS "libclamav: ${CLAMFETCH_LIBCLAMAV_SONAME} (dlopen), package ${CLAMFETCH_LIBCLAMAV_PACKAGE}")
