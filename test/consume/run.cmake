# cmake -P script: builds test/consume/app against sio in MODE "install" or "subdirectory", then runs it.
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
else()
  run(${CMAKE_COMMAND} -S ${app_src} -B ${WORK_DIR}/build ${common_args}
      -DSIO_CONSUME_MODE=subdirectory -DSIO_SOURCE_DIR=${SIO_SOURCE_DIR})
endif()
run(${CMAKE_COMMAND} --build ${WORK_DIR}/build)
run(${WORK_DIR}/build/consume_app)
