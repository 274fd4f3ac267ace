# Compiler settings live on one INTERFACE target; never on CMAKE_CXX_FLAGS.
add_library(jostle_cxx_settings INTERFACE)
target_compile_features(jostle_cxx_settings INTERFACE cxx_std_20)
target_compile_options(jostle_cxx_settings INTERFACE -Wall -Wextra -Wpedantic
  $<$<BOOL:${JOSTLE_WERROR}>:-Werror>
  # GCC 12 at -O3 warns -Wrestrict inside libstdc++'s char_traits::copy for "literal" +
  # std::string (GCC bug 105329): a false positive of the release build. GCC 13 and clang
  # still check.
  $<$<AND:$<CXX_COMPILER_ID:GNU>,$<VERSION_LESS:$<CXX_COMPILER_VERSION>,13>>:-Wno-restrict>)
target_include_directories(jostle_cxx_settings INTERFACE ${PROJECT_SOURCE_DIR}/include)

# jostle_add_library(NAME SOURCES... LINK ...): a module library with its own folder
# as private include dir and the settings applied.
function(jostle_add_library name)
  cmake_parse_arguments(arg "" "" "SOURCES;LINK;PUBLIC_INCLUDE" ${ARGN})
  add_library(${name} STATIC ${arg_SOURCES})
  target_link_libraries(${name} PUBLIC jostle_cxx_settings ${arg_LINK})
  # Module headers are included as "agent/procfs/proc_stat.h" from the source root.
  target_include_directories(${name} PUBLIC ${PROJECT_SOURCE_DIR})
  # Every module speaks Status/Result, implemented with the contract in jostle_wire.
  if(NOT name STREQUAL "jostle_wire")
    target_link_libraries(${name} PUBLIC jostle_wire)
  endif()
endfunction()

# jostle_add_test(NAME SOURCES... LINK ... [LABELS label]): one GoogleTest executable,
# discovered by CTest. LABELS sanitize: the suite is also built and run under the asan preset
# by scripts/test.sh (target jostle_sanitize_tests builds every such suite).
function(jostle_add_test name)
  cmake_parse_arguments(arg "" "" "SOURCES;LINK;LABELS" ${ARGN})
  add_executable(${name} ${arg_SOURCES})
  target_link_libraries(${name} PRIVATE jostle_cxx_settings jostle_test_support ${arg_LINK} jostle_wire
    GTest::gmock GTest::gtest_main)
  set_target_properties(${name} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${PROJECT_BINARY_DIR}/tests)
  gtest_discover_tests(${name} DISCOVERY_TIMEOUT 60 PROPERTIES LABELS "${arg_LABELS}")
  if("sanitize" IN_LIST arg_LABELS)
    add_dependencies(jostle_sanitize_tests ${name})
  endif()
endfunction()
