/**
 * The NBD server: Strata's disks served over the Network Block Device protocol
 * ({@code doc/proto.md} of the NetworkBlockDevice project, with QEMU's meta contexts from its
 * {@code docs/interop/nbd.txt}), as QEMU's {@code nbd/server.c} and {@code block/export/}.
 *
 * <h2>API</h2>
 * <ul>
 * <li>{@link dev.strata.blockdrv.nbd.NbdServer#start NbdServer.start(NbdListenAddress, NbdServerOptions)}
 *     binds a unix socket (mode 0600) or a TCP address ({@code TCP_NODELAY} on every client) and
 *     accepts clients until {@link dev.strata.blockdrv.nbd.NbdServer#stop stop()}.
 *     {@link dev.strata.blockdrv.nbd.NbdServerOptions} carries {@code max-connections} and an
 *     optional {@link dev.strata.blockdrv.nbd.NbdTlsConfig} (an {@code SSLContext}, TLS required or
 *     not, client certificate required or not, an {@link dev.strata.blockdrv.nbd.NbdAuthorizer} on
 *     the client certificate's subject DN). Build the context with
 *     {@link dev.strata.blockdrv.nbd.NbdTlsContexts#server NbdTlsContexts.server}: a context that
 *     names its CAs makes libnbd's GnuTLS withhold the client certificate.</li>
 * <li>{@link dev.strata.blockdrv.nbd.NbdExport} describes what is served under a name: the
 *     {@link dev.strata.blockdrv.BlockBackend} (the export holds it as a device does, so drains, op
 *     blockers, jobs and notifiers see its I/O), writable, writethrough, multi-conn, the dirty
 *     bitmaps offered as {@code qemu:dirty-bitmap:NAME} (through the small
 *     {@link dev.strata.blockdrv.nbd.NbdDirtyBitmap} interface, which the jobs module adapts its
 *     bitmaps to) and {@code qemu:allocation-depth}.</li>
 * <li>{@code addExport}, {@code removeExport(name, SAFE|HARD)} (SAFE waits briefly for clients
 *     that are leaving), an {@link dev.strata.blockdrv.nbd.NbdExportListener} told when a removed
 *     export's last client has gone ({@code BLOCK_EXPORT_DELETED}) and an
 *     {@link dev.strata.blockdrv.nbd.NbdConnectionListener} told as clients attach, detach and
 *     close.</li>
 * <li>{@link dev.strata.blockdrv.nbd.TlsClientSession}: the client side of TLS over a socket
 *     channel, for {@code strata nbd -L --tls-creds}.</li>
 * </ul>
 *
 * <h2>Threads</h2>
 * One virtual thread accepts; each connection has a virtual reader thread that negotiates, then
 * reads requests and starts one virtual thread per request, so many requests of one client run at
 * once and answer in any order. Replies are written whole under the connection's write lock, each
 * as one gathering write. Per-client limits on requests and payload bytes in flight keep one client
 * from exhausting memory; a client that does not finish negotiating within 10 s is dropped. The
 * public methods of {@code NbdServer} may be called from any thread.
 *
 * <h2>Bad input</h2>
 * Every malformed message gets the reply the protocol prescribes or a clean disconnect, and one log
 * line; the checks on a request (command, flags, read-only, size, range) come before any I/O, so no
 * client can reach outside its export.
 */
package dev.strata.blockdrv.nbd;
