# Proves the ways of consuming sio: find_package(sio) after `cmake --install`, find_package(sio) pointed at
# this build folder (sio_DIR), and add_subdirectory.
# Each test configures and builds the small app in test/consume/app in a scratch directory.
set(SIO_CONSUME_DIR ${CMAKE_CURRENT_BINARY_DIR}/consume)
add_test(NAME consume_install
  COMMAND ${CMAKE_COMMAND}
    -DSIO_SOURCE_DIR=${PROJECT_SOURCE_DIR}
    -DSIO_BINARY_DIR=${PROJECT_BINARY_DIR}
    -DWORK_DIR=${SIO_CONSUME_DIR}/install
    -DMODE=install
    -DCXX_COMPILER=${CMAKE_CXX_COMPILER}
    -DBUILD_TYPE=${CMAKE_BUILD_TYPE}
    -DCXX_FLAGS=${CMAKE_CXX_FLAGS}
    -DLINKER_FLAGS=${CMAKE_EXE_LINKER_FLAGS}
    -P ${CMAKE_CURRENT_SOURCE_DIR}/consume/run.cmake)
add_test(NAME consume_subdirectory
  COMMAND ${CMAKE_COMMAND}
    -DSIO_SOURCE_DIR=${PROJECT_SOURCE_DIR}
    -DSIO_BINARY_DIR=${PROJECT_BINARY_DIR}
    -DWORK_DIR=${SIO_CONSUME_DIR}/subdir
    -DMODE=subdirectory
    -DCXX_COMPILER=${CMAKE_CXX_COMPILER}
    -DBUILD_TYPE=${CMAKE_BUILD_TYPE}
    -DCXX_FLAGS=${CMAKE_CXX_FLAGS}
    -DLINKER_FLAGS=${CMAKE_EXE_LINKER_FLAGS}
    -P ${CMAKE_CURRENT_SOURCE_DIR}/consume/run.cmake)
add_test(NAME consume_build_tree
  COMMAND ${CMAKE_COMMAND}
    -DSIO_SOURCE_DIR=${PROJECT_SOURCE_DIR}
    -DSIO_BINARY_DIR=${PROJECT_BINARY_DIR}
    -DWORK_DIR=${SIO_CONSUME_DIR}/build_tree
    -DMODE=build_tree
    -DCXX_COMPILER=${CMAKE_CXX_COMPILER}
    -DBUILD_TYPE=${CMAKE_BUILD_TYPE}
    -DCXX_FLAGS=${CMAKE_CXX_FLAGS}
    -DLINKER_FLAGS=${CMAKE_EXE_LINKER_FLAGS}
    -P ${CMAKE_CURRENT_SOURCE_DIR}/consume/run.cmake)
set_tests_properties(consume_install consume_subdirectory consume_build_tree PROPERTIES TIMEOUT 900 LABELS consume)
