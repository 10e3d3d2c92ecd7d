# Precompiled headers for sio's own programs (tests, examples, benchmarks; never the library, whose objects
# the consumption tests rebuild from the compiler cache). Parsing Asio, Boost.JSON and sio's API is a third or
# more of such a program's build. One owner target builds the header; the others reuse it.
#
#   sio_precompile(<owner> <header>...)         <owner> builds the precompiled header
#   sio_reuse_precompiled(<owner> <target>...)  the targets use <owner>'s
#
# ccache caches a compilation that uses a precompiled header only with this sloppiness, hence the launcher.
option(SIO_PRECOMPILED_HEADERS "Build sio's tests, examples and benchmarks with precompiled headers"
       ${SIO_MAIN_PROJECT})
set(SIO_PCH_LAUNCHER "")
if(SIO_CCACHE AND CMAKE_CXX_COMPILER_LAUNCHER STREQUAL SIO_CCACHE)
  set(SIO_PCH_LAUNCHER ${CMAKE_COMMAND} -E env CCACHE_SLOPPINESS=pch_defines,time_macros ${SIO_CCACHE})
endif()

function(sio_precompile owner)
  if(SIO_PRECOMPILED_HEADERS)
    target_precompile_headers(${owner} PRIVATE ${ARGN})
    if(SIO_PCH_LAUNCHER)
      set_target_properties(${owner} PROPERTIES CXX_COMPILER_LAUNCHER "${SIO_PCH_LAUNCHER}")
    endif()
  endif()
endfunction()

function(sio_reuse_precompiled owner)
  if(SIO_PRECOMPILED_HEADERS)
    foreach(target IN LISTS ARGN)
      target_precompile_headers(${target} REUSE_FROM ${owner})
      if(SIO_PCH_LAUNCHER)
        set_target_properties(${target} PROPERTIES CXX_COMPILER_LAUNCHER "${SIO_PCH_LAUNCHER}")
      endif()
    endforeach()
  endif()
endfunction()
