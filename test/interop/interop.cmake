# Interop tests: the official JavaScript clients (npm, installed by the README's test command into
# test/interop/node_modules) drive our servers. Skipped with a clear message when node or the modules are missing.
find_program(SIO_NODE node)
set(SIO_INTEROP_DIR ${CMAKE_CURRENT_SOURCE_DIR}/interop)
if(SIO_NODE AND EXISTS ${SIO_INTEROP_DIR}/node_modules/engine.io-client)
  add_test(NAME interop_engineio
    COMMAND ${SIO_NODE} --test ${SIO_INTEROP_DIR}/engineio.test.mjs
    WORKING_DIRECTORY ${SIO_INTEROP_DIR})
  set_tests_properties(interop_engineio PROPERTIES
    ENVIRONMENT "SIO_EIO_SERVER=$<TARGET_FILE:eio_test_server>"
    TIMEOUT 180)
  if(EXISTS ${SIO_INTEROP_DIR}/socketio.test.mjs)
    add_test(NAME interop_socketio
      COMMAND ${SIO_NODE} --test ${SIO_INTEROP_DIR}/socketio.test.mjs
      WORKING_DIRECTORY ${SIO_INTEROP_DIR})
    set_tests_properties(interop_socketio PROPERTIES
      ENVIRONMENT "SIO_SERVER=$<TARGET_FILE:sio_test_server>"
      TIMEOUT 180)
  endif()
  if(EXISTS ${SIO_INTEROP_DIR}/recovery.test.mjs)
    add_test(NAME interop_recovery
      COMMAND ${SIO_NODE} --test ${SIO_INTEROP_DIR}/recovery.test.mjs
      WORKING_DIRECTORY ${SIO_INTEROP_DIR})
    set_tests_properties(interop_recovery PROPERTIES
      ENVIRONMENT "SIO_SERVER=$<TARGET_FILE:sio_test_server>"
      TIMEOUT 120)
  endif()
  # A session coroutine (socket.receive()) under a burst of events: order, nothing lost, back-pressure.
  add_test(NAME interop_session
    COMMAND ${SIO_NODE} --test ${SIO_INTEROP_DIR}/session.test.mjs
    WORKING_DIRECTORY ${SIO_INTEROP_DIR})
  set_tests_properties(interop_session PROPERTIES
    ENVIRONMENT "SIO_SERVER=$<TARGET_FILE:sio_test_server>"
    TIMEOUT 180)
  add_test(NAME interop_admin
    COMMAND ${SIO_NODE} --test ${SIO_INTEROP_DIR}/admin.test.mjs
    WORKING_DIRECTORY ${SIO_INTEROP_DIR})
  set_tests_properties(interop_admin PROPERTIES
    ENVIRONMENT "SIO_ADMIN_SERVER=$<TARGET_FILE:admin_test_server>"
    TIMEOUT 180)
  if(EXISTS ${SIO_INTEROP_DIR}/tls.test.mjs)
    # Makes its certificate with the openssl command; skipped with a message without it.
    add_test(NAME interop_tls
      COMMAND ${SIO_NODE} --test ${SIO_INTEROP_DIR}/tls.test.mjs
      WORKING_DIRECTORY ${SIO_INTEROP_DIR})
    set_tests_properties(interop_tls PROPERTIES
      ENVIRONMENT "SIO_SERVER=$<TARGET_FILE:sio_test_server>"
      TIMEOUT 120)
  endif()
  # The Redis cluster suite starts its own redis-server (REDIS_SERVER, else PATH); without one the suite
  # is skipped with a message (node --test reports it as skipped).
  if(EXISTS ${SIO_INTEROP_DIR}/redis.test.mjs AND EXISTS ${SIO_INTEROP_DIR}/node_modules/@socket.io/redis-adapter)
    find_program(SIO_REDIS_SERVER redis-server)
    set(sio_redis_env "SIO_SERVER=$<TARGET_FILE:sio_test_server>")
    if(SIO_REDIS_SERVER)
      list(APPEND sio_redis_env "REDIS_SERVER=${SIO_REDIS_SERVER}")
    else()
      message(STATUS "sio: redis-server not found; interop_redis will be skipped (apt-get install redis-server)")
    endif()
    add_test(NAME interop_redis
      COMMAND ${SIO_NODE} --test ${SIO_INTEROP_DIR}/redis.test.mjs
      WORKING_DIRECTORY ${SIO_INTEROP_DIR})
    set_tests_properties(interop_redis PROPERTIES
      ENVIRONMENT "${sio_redis_env}"
      TIMEOUT 240)
    # The sharded adapter (createShardedAdapter) in each subscription mode, same environment.
    add_test(NAME interop_redis_sharded
      COMMAND ${SIO_NODE} --test ${SIO_INTEROP_DIR}/redis-sharded.test.mjs
      WORKING_DIRECTORY ${SIO_INTEROP_DIR})
    set_tests_properties(interop_redis_sharded PROPERTIES
      ENVIRONMENT "${sio_redis_env}"
      TIMEOUT 120)
    # The sharded adapter on a Redis Cluster of three masters (redis-cli --cluster create), sio and Node's
    # createCluster client on it; skipped with a message without redis-cli.
    find_program(SIO_REDIS_CLI redis-cli)
    set(sio_redis_cluster_env ${sio_redis_env})
    if(SIO_REDIS_CLI)
      list(APPEND sio_redis_cluster_env "REDIS_CLI=${SIO_REDIS_CLI}")
    endif()
    add_test(NAME interop_redis_cluster
      COMMAND ${SIO_NODE} --test ${SIO_INTEROP_DIR}/redis-cluster.test.mjs
      WORKING_DIRECTORY ${SIO_INTEROP_DIR})
    set_tests_properties(interop_redis_cluster PROPERTIES
      ENVIRONMENT "${sio_redis_cluster_env}"
      TIMEOUT 60)
  endif()
  # The Redis streams suite (sio and Node's @socket.io/redis-streams-adapter in one cluster), the same way.
  if(EXISTS ${SIO_INTEROP_DIR}/redis-streams.test.mjs AND
     EXISTS ${SIO_INTEROP_DIR}/node_modules/@socket.io/redis-streams-adapter)
    find_program(SIO_REDIS_SERVER redis-server)
    set(sio_streams_env "SIO_SERVER=$<TARGET_FILE:sio_test_server>")
    if(SIO_REDIS_SERVER)
      list(APPEND sio_streams_env "REDIS_SERVER=${SIO_REDIS_SERVER}")
    endif()
    add_test(NAME interop_redis_streams
      COMMAND ${SIO_NODE} --test ${SIO_INTEROP_DIR}/redis-streams.test.mjs
      WORKING_DIRECTORY ${SIO_INTEROP_DIR})
    set_tests_properties(interop_redis_streams PROPERTIES
      ENVIRONMENT "${sio_streams_env}"
      TIMEOUT 120)
  endif()
  # The msgpack parser against socket.io-client with socket.io-msgpack-parser (a devDependency).
  if(EXISTS ${SIO_INTEROP_DIR}/node_modules/socket.io-msgpack-parser)
    add_test(NAME interop_msgpack
      COMMAND ${SIO_NODE} --test ${SIO_INTEROP_DIR}/msgpack.test.mjs
      WORKING_DIRECTORY ${SIO_INTEROP_DIR})
    set_tests_properties(interop_msgpack PROPERTIES
      ENVIRONMENT "SIO_SERVER=$<TARGET_FILE:sio_test_server>"
      TIMEOUT 120)
  else()
    message(WARNING "sio: test/interop/node_modules/socket.io-msgpack-parser missing; interop_msgpack is not "
                    "registered (run `npm ci` in test/interop)")
  endif()
  # socket.io-client 2.5 (Engine.IO v3, npm alias socket.io-client-v2) against a server with allow_eio3.
  if(EXISTS ${SIO_INTEROP_DIR}/node_modules/socket.io-client-v2)
    add_test(NAME interop_eio3
      COMMAND ${SIO_NODE} --test ${SIO_INTEROP_DIR}/eio3.test.mjs
      WORKING_DIRECTORY ${SIO_INTEROP_DIR})
    set_tests_properties(interop_eio3 PROPERTIES
      ENVIRONMENT "SIO_SERVER=$<TARGET_FILE:sio_test_server>"
      TIMEOUT 120)
  else()
    message(WARNING "sio: test/interop/node_modules/socket.io-client-v2 missing; interop_eio3 is not "
                    "registered (run `npm ci` in test/interop)")
  endif()
  add_test(NAME interop_examples
    COMMAND ${SIO_NODE} --test ${SIO_INTEROP_DIR}/examples.test.mjs
    WORKING_DIRECTORY ${SIO_INTEROP_DIR})
  set_tests_properties(interop_examples PROPERTIES
    ENVIRONMENT "SIO_EXAMPLES_DIR=${PROJECT_BINARY_DIR}/examples"
    TIMEOUT 180)
  # The chat in Debian's chromium (playwright-core drives it; skipped with a message without chromium).
  if(EXISTS ${SIO_INTEROP_DIR}/node_modules/playwright-core)
    add_test(NAME browser_chat
      COMMAND ${SIO_NODE} --test ${SIO_INTEROP_DIR}/browser.test.mjs
      WORKING_DIRECTORY ${SIO_INTEROP_DIR})
    set_tests_properties(browser_chat PROPERTIES
      ENVIRONMENT "SIO_EXAMPLES_DIR=${PROJECT_BINARY_DIR}/examples;SIO_ARTIFACTS_DIR=${PROJECT_BINARY_DIR}/test-artifacts"
      TIMEOUT 120)
    # The official Admin UI served by the chat, in chromium: lists the sockets, disconnects one.
    add_test(NAME browser_admin_dashboard
      COMMAND ${SIO_NODE} --test ${SIO_INTEROP_DIR}/admin_dashboard.test.mjs
      WORKING_DIRECTORY ${SIO_INTEROP_DIR})
    set_tests_properties(browser_admin_dashboard PROPERTIES
      ENVIRONMENT "SIO_EXAMPLES_DIR=${PROJECT_BINARY_DIR}/examples;SIO_ARTIFACTS_DIR=${PROJECT_BINARY_DIR}/test-artifacts"
      TIMEOUT 150)
  endif()
else()
  message(WARNING "sio: node or test/interop/node_modules missing; interop tests are not registered "
                  "(run `npm ci` in test/interop)")
endif()

# python-socketio (Debian's python3-socketio 5.x, a Socket.IO v5 / Engine.IO v4 client) against
# sio_test_server. Run with the system interpreter, where apt installs the module; the script exits 77
# (skipped) when the module or its transports are missing.
set(SIO_SYSTEM_PYTHON /usr/bin/python3)
if(EXISTS ${SIO_SYSTEM_PYTHON})
  add_test(NAME interop_python
    COMMAND ${SIO_SYSTEM_PYTHON} ${SIO_INTEROP_DIR}/python/client_test.py)
else()
  add_test(NAME interop_python
    COMMAND sh -c "echo 'skipped: /usr/bin/python3 not found (apt-get install python3-socketio)'; exit 77")
endif()
set_tests_properties(interop_python PROPERTIES
  ENVIRONMENT "SIO_SERVER=$<TARGET_FILE:sio_test_server>"
  SKIP_RETURN_CODE 77
  TIMEOUT 120)
