# Dependencies, found the standard way; nothing is downloaded.
find_package(PkgConfig REQUIRED)
find_package(OpenSSL 3 REQUIRED)
find_package(Threads REQUIRED)
pkg_check_modules(LIBETPAN REQUIRED IMPORTED_TARGET libetpan)
pkg_check_modules(LIBCLAMAV REQUIRED IMPORTED_TARGET libclamav)
pkg_check_modules(TOMLPLUSPLUS REQUIRED IMPORTED_TARGET tomlplusplus)

# Debian's libetpan.pc adds -specs=/usr/share/dpkg/no-pie-link.specs, which silently makes
# every binary that links it non-PIE. Drop it.
foreach(prop INTERFACE_LINK_OPTIONS INTERFACE_LINK_LIBRARIES)
  get_target_property(values PkgConfig::LIBETPAN ${prop})
  if(values)
    list(FILTER values EXCLUDE REGEX "-specs=")
    set_target_properties(PkgConfig::LIBETPAN PROPERTIES ${prop} "${values}")
  endif()
endforeach()
