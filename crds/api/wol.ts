// The wake-on-LAN magic packet: 6 bytes of 0xFF, then the MAC 16 times (102 bytes), sent
// over UDP to the network's broadcast address. Pure: the operator sends it, simulated nodes
// recognise it.

/** The six bytes of a MAC written as six hex pairs with ':' or '-' (Node spec.wakeOnLan.mac); throws otherwise. */
export function parseMac(mac: string): Buffer {
  if (!/^[0-9A-Fa-f]{2}([:-][0-9A-Fa-f]{2}){5}$/.test(mac)) throw new Error(`MAC address ${JSON.stringify(mac)} is not six hex pairs separated by ':' or '-'`);
  return Buffer.from(mac.split(/[:-]/).map((h) => parseInt(h, 16)));
}

export function magicPacket(mac: string): Buffer {
  const m = parseMac(mac);
  return Buffer.concat([Buffer.alloc(6, 0xff), ...Array.from({ length: 16 }, () => m)]);
}
