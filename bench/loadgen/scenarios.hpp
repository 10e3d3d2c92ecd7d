// The load generator's scenarios (the usage is in main.cpp). Each runs on the run's io_context, adds its
// result's fields to `r` and throws with a message on any failure; `pid` is the measured server's.
#pragma once

#include "options.hpp"
#include "report.hpp"
#include "session.hpp"

namespace loadgen {

/// conn / poll-conn (st.via): N idle connections (each in K rooms over WebSocket).
awaitable<void> run_conn(run_state& st, const options& o, int pid, result& r);
/// echo / poll-echo (st.via): closed-loop emit-with-ack.
awaitable<void> run_echo(run_state& st, const options& o, int pid, result& r);
/// bcast, room-bcast (`room`) / poll-bcast (st.via): one trigger of M broadcasts per round.
awaitable<void> run_bcast(run_state& st, const options& o, int pid, result& r, bool room);
/// echo-conn: one client echoes while N clients connect.
awaitable<void> run_echo_conn(run_state& st, const options& o, int pid, result& r);
/// churn: connect + handshake + CONNECT + close loops.
awaitable<void> run_churn(run_state& st, const options& o, int pid, result& r);
/// cross-bcast: a broadcast from a second server of the cluster (cross_bcast.cpp).
awaitable<void> run_cross_bcast(run_state& st, const options& o, int pid, result& r);
/// soak: many clients for a long time (soak.cpp).
awaitable<void> run_soak(run_state& st, const options& o, result& r);

} // namespace loadgen
