// Other contexts' commits on IndexedDB stores, for remote.rs.

// The BroadcastChannel `name`, handing each message's data to `receive`; `null` where the
// host has none.
export function channel(name, receive) {
  if (typeof BroadcastChannel !== "function") return null;
  const channel = new BroadcastChannel(name);
  channel.onmessage = (event) => receive(event.data);
  return channel;
}
