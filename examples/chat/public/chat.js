// The chat page: only the official browser client (window.io), no framework.
"use strict";

const $ = (id) => document.getElementById(id);
const COLORS = ["#e21400", "#91580f", "#f8a700", "#f78b00", "#58dc00", "#287b00", "#a8f07a", "#4ae8c4",
                "#3b88eb", "#3824aa", "#a700ff", "#d300e7"];
const TYPING_TIMEOUT_MS = 1500;

const socket = io({ autoConnect: false });
let username = null;
let channel = "general";
let typing = false;
let lastTyping = 0;
const typists = new Map(); // username -> channel
const channels = new Set(["general", "random", "cpp"]);

function colorOf(name) {
  let hash = 7;
  for (const c of name) hash = (hash * 31 + c.codePointAt(0)) | 0;
  return COLORS[Math.abs(hash) % COLORS.length];
}

function scrollDown() { $("messages").scrollTop = $("messages").scrollHeight; }

function log(text) {
  const li = document.createElement("li");
  li.className = "log";
  li.textContent = text;
  $("messages").append(li);
  scrollDown();
}

function addMessage({ username: from, message }) {
  const li = document.createElement("li");
  li.className = "message";
  const name = document.createElement("span");
  name.className = "username";
  name.textContent = from;
  name.style.color = colorOf(from);
  const body = document.createElement("span");
  body.className = "body";
  body.textContent = message;
  li.append(name, body);
  $("messages").append(li);
  scrollDown();
}

function participants(n) {
  $("participants").textContent = n === 1 ? "1 participant" : `${n} participants`;
}

function renderChannels() {
  const ul = $("channels");
  ul.replaceChildren();
  for (const name of channels) {
    const li = document.createElement("li");
    li.textContent = `#${name}`;
    li.dataset.channel = name;
    if (name === channel) li.classList.add("current");
    li.addEventListener("click", () => switchChannel(name));
    ul.append(li);
  }
  $("channel-title").textContent = `#${channel}`;
}

function renderTyping() {
  const names = [...typists].filter(([, c]) => c === channel).map(([n]) => n);
  $("typing").textContent = names.length === 0 ? "" : `${names.join(", ")} ${names.length > 1 ? "are" : "is"} typing…`;
}

async function switchChannel(name) {
  if (name === channel) return;
  stopTyping();
  const answer = await socket.timeout(5000).emitWithAck("join channel", name).catch(() => null);
  if (!answer || !answer.ok) return log(answer ? answer.error : "the server did not answer");
  channel = answer.channel;
  channels.add(channel);
  $("messages").replaceChildren();
  log(`you joined #${channel}`);
  renderChannels();
  renderTyping();
}

function stopTyping() {
  if (typing) socket.emit("stop typing");
  typing = false;
}

$("login-form").addEventListener("submit", (e) => {
  e.preventDefault();
  const name = $("login-name").value.trim();
  if (!name) return;
  username = name;
  socket.connect();
});

socket.on("connect", async () => {
  $("status").textContent = `connected (${socket.io.engine.transport.name})`;
  socket.io.engine.once("upgrade", (t) => { $("status").textContent = `connected (${t.name})`; });
  if (!username) return;
  if (socket.recovered) { // connection state recovery (RECOVERY=1): same user, channel, and what was missed
    log("session recovered: same name and channel, nothing missed");
    return;
  }
  const answer = await socket.timeout(5000).emitWithAck("add user", username).catch(() => null);
  if (!answer || !answer.ok) {
    $("login-error").textContent = answer ? answer.error : "the server did not answer";
    username = null;
    socket.disconnect();
    return;
  }
  channel = answer.channel;
  $("login").hidden = true;
  $("chat").hidden = false;
  renderChannels();
  log("Welcome to sio chat");
  participants(answer.numUsers);
  $("message-input").focus();
});

socket.on("disconnect", (reason) => {
  $("status").textContent = `disconnected (${reason})`;
  if (username) log("you have been disconnected");
});
socket.io.on("reconnect", () => log("you have been reconnected"));

$("message-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const text = $("message-input").value.trim();
  if (!text) return;
  $("message-input").value = "";
  stopTyping();
  const answer = await socket.timeout(5000).emitWithAck("new message", text).catch(() => null);
  if (answer && answer.ok) addMessage(answer.message);
  else log(answer ? answer.error : "not delivered: the server did not answer");
});

$("message-input").addEventListener("input", () => {
  if (!socket.connected) return;
  if (!typing) {
    typing = true;
    socket.emit("typing");
  }
  lastTyping = Date.now();
  setTimeout(() => {
    if (typing && Date.now() - lastTyping >= TYPING_TIMEOUT_MS) stopTyping();
  }, TYPING_TIMEOUT_MS);
});

$("channel-form").addEventListener("submit", (e) => {
  e.preventDefault();
  const name = $("channel-name").value.trim().toLowerCase();
  $("channel-name").value = "";
  if (name) switchChannel(name);
});

socket.on("new message", (m) => { if (m.channel === channel) addMessage(m); });
socket.on("user joined", ({ username: who, numUsers }) => { log(`${who} joined`); participants(numUsers); });
socket.on("user left", ({ username: who, numUsers }) => {
  log(`${who} left`);
  participants(numUsers);
  typists.delete(who);
  renderTyping();
});
socket.on("user joined channel", ({ username: who, channel: c }) => { if (c === channel) log(`${who} joined #${c}`); });
socket.on("user left channel", ({ username: who, channel: c }) => {
  if (c === channel) log(`${who} left #${c}`);
  typists.delete(who);
  renderTyping();
});
socket.on("typing", ({ username: who, channel: c }) => { typists.set(who, c); renderTyping(); });
socket.on("stop typing", ({ username: who }) => { typists.delete(who); renderTyping(); });

renderChannels();
