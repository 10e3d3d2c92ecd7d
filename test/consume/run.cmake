# cmake -P script: builds test/consume/app against sio in MODE "install", "build_tree" (find_package with
# sio_DIR set to the build folder, nothing installed) or "subdirectory", then runs it.
file(REMOVE_RECURSE ${WORK_DIR})
file(MAKE_DIRECTORY ${WORK_DIR})
set(app_src ${CMAKE_CURRENT_LIST_DIR}/app)
set(common_args -G Ninja -DCMAKE_BUILD_TYPE=${BUILD_TYPE} -DCMAKE_CXX_COMPILER=${CXX_COMPILER}
                "-DCMAKE_CXX_FLAGS=${CXX_FLAGS}" "-DCMAKE_EXE_LINKER_FLAGS=${LINKER_FLAGS}")

function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "failed (${rc}): ${ARGN}")
  endif()
endfunction()

if(MODE STREQUAL "install")
  run(${CMAKE_COMMAND} --install ${SIO_BINARY_DIR} --prefix ${WORK_DIR}/prefix)
  run(${CMAKE_COMMAND} -S ${app_src} -B ${WORK_DIR}/build ${common_args}
      -DCMAKE_PREFIX_PATH=${WORK_DIR}/prefix -DSIO_CONSUME_MODE=install)
elseif(MODE STREQUAL "build_tree")
  run(${CMAKE_COMMAND} -S ${app_src} -B ${WORK_DIR}/build ${common_args}
      -Dsio_DIR=${SIO_BINARY_DIR} -DSIO_CONSUME_MODE=install)
else()
  run(${CMAKE_COMMAND} -S ${app_src} -B ${WORK_DIR}/build ${common_args}
      -DSIO_CONSUME_MODE=subdirectory -DSIO_SOURCE_DIR=${SIO_SOURCE_DIR})
endif()
run(${CMAKE_COMMAND} --build ${WORK_DIR}/build)
run(${WORK_DIR}/build/consume_app)

if(MODE STREQUAL "install")
  # Without CMake: the flags of the installed pkg-config file build the same app.
  file(GLOB_RECURSE pc_file ${WORK_DIR}/prefix/sio.pc)
  get_filename_component(pc_dir "${pc_file}" DIRECTORY)
  set(ENV{PKG_CONFIG_PATH} "${pc_dir}")
  execute_process(COMMAND pkg-config --cflags --libs sio OUTPUT_VARIABLE pc_flags RESULT_VARIABLE rc
                  OUTPUT_STRIP_TRAILING_WHITESPACE)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "pkg-config --cflags --libs sio failed (${rc})")
  endif()
  separate_arguments(pc_flags UNIX_COMMAND "${pc_flags}")
  separate_arguments(extra_flags UNIX_COMMAND "${CXX_FLAGS} ${LINKER_FLAGS}")
  run(${CXX_COMPILER} ${extra_flags} ${app_src}/main.cpp -o ${WORK_DIR}/consume_app_pc ${pc_flags})
  run(${WORK_DIR}/consume_app_pc)
  # Without the definitions, a program would get an Asio of its own: sio's headers refuse to compile,
  # and say what to define.
  execute_process(COMMAND ${CXX_COMPILER} -std=c++20 -fsyntax-only -Wfatal-errors -I${WORK_DIR}/prefix/include
                          ${app_src}/main.cpp
                  RESULT_VARIABLE rc ERROR_VARIABLE err OUTPUT_QUIET)
  if(rc EQUAL 0 OR NOT err MATCHES "BOOST_ASIO_SEPARATE_COMPILATION")
    message(FATAL_ERROR "sio's headers compiled without BOOST_ASIO_SEPARATE_COMPILATION:\n${err}")
  endif()
endif()
