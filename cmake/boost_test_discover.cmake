# Registers each case of a Boost.Test executable with CTest, so that a failure names its case and cases
# run in parallel. After every link, the executable's --list_content is turned into a CTest script
# (<target>_cases.cmake in the build folder) that the test folder includes.
#
# Script mode: cmake -D EXE=... -D TARGET=... -D OUT=... -D TIMEOUT=... -D SERIAL=regex -P boost_test_discover.cmake

if(CMAKE_SCRIPT_MODE_FILE)
  execute_process(COMMAND "${EXE}" --list_content
    RESULT_VARIABLE result OUTPUT_VARIABLE out ERROR_VARIABLE listing)
  if(NOT result EQUAL 0)
    message(FATAL_ERROR "${EXE} --list_content failed (${result}):\n${out}${listing}")
  endif()
  string(REPLACE "\n" ";" lines "${listing}")
  set(script "")
  set(stack "")       # names of the enclosing suites, one per indentation level
  set(previous "")    # the entry of the previous line, registered once we know it has no children
  set(previous_depth -1)
  set(count 0)
  # A trailing empty line flushes the last entry.
  list(APPEND lines "")
  foreach(line IN LISTS lines)
    if(line MATCHES "^( *)([A-Za-z0-9_]+)(\\*?)$")
      string(LENGTH "${CMAKE_MATCH_1}" indent)
      math(EXPR depth "${indent} / 4")
      set(name "${CMAKE_MATCH_2}")
      set(enabled "${CMAKE_MATCH_3}")
    elseif(line STREQUAL "")
      set(depth 0)
      set(name "")
      set(enabled "")
    else()
      continue()
    endif()
    # The previous entry was a case (a leaf) when this line is not deeper than it.
    if(NOT previous STREQUAL "" AND depth LESS_EQUAL previous_depth AND previous_enabled)
      string(REPLACE "/" "." test_name "${previous}")
      set(serial "")
      if(NOT SERIAL STREQUAL "" AND previous MATCHES "${SERIAL}")
        set(serial " RUN_SERIAL TRUE")
      endif()
      string(APPEND script
        "add_test([=[${TARGET}.${test_name}]=] [=[${EXE}]=] [=[--run_test=${previous}]=])\n"
        "set_tests_properties([=[${TARGET}.${test_name}]=] PROPERTIES TIMEOUT ${TIMEOUT} LABELS unit${serial})\n")
      math(EXPR count "${count} + 1")
    endif()
    if(name STREQUAL "")
      break()
    endif()
    list(LENGTH stack size)
    while(size GREATER depth)
      list(POP_BACK stack)
      list(LENGTH stack size)
    endwhile()
    list(APPEND stack "${name}")
    list(JOIN stack "/" previous)
    set(previous_depth ${depth})
    if(enabled STREQUAL "*")
      set(previous_enabled TRUE)
    else()
      set(previous_enabled FALSE)
    endif()
  endforeach()
  if(count EQUAL 0)
    message(FATAL_ERROR "${EXE} lists no test case")
  endif()
  file(WRITE "${OUT}" "${script}")
  return()
endif()

# sio_discover_boost_tests(<target> [TIMEOUT seconds] [SERIAL regex])
# Cases whose suite/case path matches SERIAL run alone (stress tests that need the whole machine).
function(sio_discover_boost_tests target)
  cmake_parse_arguments(arg "" "TIMEOUT;SERIAL" "" ${ARGN})
  if(NOT arg_TIMEOUT)
    set(arg_TIMEOUT 300)
  endif()
  set(cases "${CMAKE_CURRENT_BINARY_DIR}/${target}_cases.cmake")
  add_custom_command(TARGET ${target} POST_BUILD
    COMMAND ${CMAKE_COMMAND} -D EXE=$<TARGET_FILE:${target}> -D TARGET=${target} -D OUT=${cases}
            -D TIMEOUT=${arg_TIMEOUT} "-D SERIAL=${arg_SERIAL}" -P ${CMAKE_CURRENT_FUNCTION_LIST_FILE}
    BYPRODUCTS ${cases}
    VERBATIM)
  # Before the first build the list does not exist yet: register one entry that says so.
  set(include_file "${CMAKE_CURRENT_BINARY_DIR}/${target}_include.cmake")
  file(WRITE "${include_file}"
    "if(EXISTS [=[${cases}]=])\n"
    "  include([=[${cases}]=])\n"
    "else()\n"
    "  add_test([=[${target}_NOT_BUILT]=] [=[${target}_NOT_BUILT]=])\n"
    "endif()\n")
  set_property(DIRECTORY APPEND PROPERTY TEST_INCLUDE_FILES "${include_file}")
endfunction()
