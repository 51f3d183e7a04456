# The libraries dkms opens with dlopen() on first use (src/core/dynlib.hpp)
# are named by SONAME, read here from the library files the find modules
# chose, so the binary asks for exactly the ABI it was compiled against.
#
#   dkms_soname(<out-var> <name> <library-path>...)
# sets <out-var> to the SONAME of the first path whose file name starts
# with lib<name>.so, and stops configuration if there is none or its SONAME
# cannot be read.
function(dkms_soname out name)
  set(lib "")
  foreach(candidate ${ARGN})
    get_filename_component(file_name "${candidate}" NAME)
    if(file_name MATCHES "^lib${name}\\.so")
      set(lib "${candidate}")
      break()
    endif()
  endforeach()
  if(lib STREQUAL "")
    message(FATAL_ERROR "dkms: no shared lib${name}.so among '${ARGN}'; "
      "dkms loads it at run time by SONAME and needs the shared library to learn it")
  endif()
  get_filename_component(real "${lib}" REALPATH)
  set(soname "")
  if(CMAKE_OBJDUMP)
    execute_process(COMMAND "${CMAKE_OBJDUMP}" -p "${real}"
      OUTPUT_VARIABLE dump ERROR_QUIET RESULT_VARIABLE rc)
    if(rc EQUAL 0 AND dump MATCHES "SONAME[ \t]+([^ \t\r\n]+)")
      set(soname "${CMAKE_MATCH_1}")
    endif()
  endif()
  if(soname STREQUAL "" AND CMAKE_READELF)
    execute_process(COMMAND "${CMAKE_READELF}" -d "${real}"
      OUTPUT_VARIABLE dump ERROR_QUIET RESULT_VARIABLE rc)
    if(rc EQUAL 0 AND dump MATCHES "Library soname: \\[([A-Za-z0-9._+-]+)\\]")
      set(soname "${CMAKE_MATCH_1}")
    endif()
  endif()
  if(soname STREQUAL "")
    message(FATAL_ERROR "dkms: cannot read the SONAME of ${real} (from ${lib}) with "
      "objdump -p or readelf -d; install binutils, or point the find module at the "
      "shared library")
  endif()
  message(STATUS "dkms: lib${name} is loaded at run time as ${soname}")
  set(${out} "${soname}" PARENT_SCOPE)
endfunction()
