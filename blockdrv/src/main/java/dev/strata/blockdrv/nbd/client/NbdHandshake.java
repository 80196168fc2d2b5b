package dev.strata.blockdrv.nbd.client;

import static dev.strata.blockdrv.nbd.NbdProtocol.*;

import dev.strata.blockdrv.BlockException;
import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import dev.strata.blockdrv.nbd.NbdClientTls;
import dev.strata.blockdrv.nbd.NbdTransport;
import java.nio.charset.StandardCharsets;

/**
 * The client side of fixed newstyle negotiation, as QEMU's {@code nbd/client.c}: asks for
 * structured replies, the {@code base:allocation} meta context and the export with
 * {@code NBD_OPT_GO} + {@code NBD_INFO_BLOCK_SIZE}; with TLS credentials it first asks for
 * {@code NBD_OPT_STARTTLS} and negotiates the rest inside TLS. Runs once per connection on the
 * thread that connects; holds no state beyond the call.
 */
final class NbdHandshake {

    /** What the server told us about the export. {@code allocationContext} is -1 without {@code base:allocation}. */
    record ExportInfo(long size, int flags, int minBlock, int preferredBlock, int maxBlock, boolean structured,
            long allocationContext) {

        boolean has(int flag) {
            return (flags & flag) != 0;
        }

        boolean readOnly() {
            return has(TFLAG_READ_ONLY);
        }
    }

    /** A negotiated connection: the transport to use from now on (TLS after STARTTLS) and the export. */
    record Negotiated(NbdTransport transport, ExportInfo info) {
    }

    /** The transport in use: plain until STARTTLS succeeds. */
    private NbdTransport ch;

    private NbdHandshake(NbdTransport ch) {
        this.ch = ch;
    }

    /**
     * Negotiates {@code target}'s export on a freshly connected transport; QEMU's error text on
     * refusal. On failure the caller closes {@code plain} (and any TLS made from it).
     */
    static Negotiated negotiate(NbdTransport plain, NbdClientTarget target) throws IOException {
        NbdHandshake h = new NbdHandshake(plain);
        try {
            ExportInfo info = h.run(target);
            return new Negotiated(h.ch, info);
        } catch (IOException | RuntimeException e) {
            if (h.ch != plain) {
                h.ch.close();
            }
            throw e;
        }
    }

    private ExportInfo run(NbdClientTarget target) throws IOException {
        String export = target.export();
        ByteBuffer hello = read(18);
        if (hello.getLong() != NBDMAGIC) {
            throw fail("Bad initial magic received");
        }
        long second = hello.getLong();
        if (second != IHAVEOPT) {
            throw fail(second == 0x00420281861253L ? "Server uses oldstyle negotiation, which Strata does not support"
                    : "Bad server magic received");
        }
        int serverFlags = hello.getShort() & 0xffff;
        if ((serverFlags & FLAG_FIXED_NEWSTYLE) == 0) {
            throw fail("Server does not support fixed newstyle negotiation");
        }
        write(ByteBuffer.allocate(4).putInt(FLAG_FIXED_NEWSTYLE | (serverFlags & FLAG_NO_ZEROES)).flip());
        if (target.tls() != null) {
            startTls(target.tls());
        }
        boolean structured = structuredReplies();
        long context = structured ? allocationContext(export) : -1;
        return go(export, structured, context);
    }

    /** {@code NBD_OPT_STARTTLS}, then the TLS handshake; refused or failed is an error, never plain text. */
    private void startTls(NbdClientTarget.Tls tls) throws IOException {
        sendOption(OPT_STARTTLS, ByteBuffer.allocate(0));
        Reply r = readReply(OPT_STARTTLS);
        if (r.type != REP_ACK) {
            throw optionError(r, OPT_STARTTLS);
        }
        if (r.data.hasRemaining()) {
            throw fail("Unexpected STARTTLS reply payload");
        }
        ch = NbdClientTls.start(ch.channel(), tls.context(), tls.hostname());
    }

    private boolean structuredReplies() throws IOException {
        sendOption(OPT_STRUCTURED_REPLY, ByteBuffer.allocate(0));
        Reply r = readReply(OPT_STRUCTURED_REPLY);
        if (r.type == REP_ACK) {
            return true;
        }
        // a server that wants TLS first refuses this too; QEMU goes on and reports the refusal at NBD_OPT_GO
        if (r.type == REP_ERR_UNSUP || r.type == REP_ERR_POLICY || r.type == REP_ERR_TLS_REQD) {
            return false;
        }
        throw optionError(r, OPT_STRUCTURED_REPLY);
    }

    private long allocationContext(String export) throws IOException {
        byte[] name = utf8(export);
        byte[] query = utf8(CTX_BASE_ALLOCATION);
        ByteBuffer b = ByteBuffer.allocate(4 + name.length + 4 + 4 + query.length);
        b.putInt(name.length).put(name).putInt(1).putInt(query.length).put(query).flip();
        sendOption(OPT_SET_META_CONTEXT, b);
        long id = -1;
        while (true) {
            Reply r = readReply(OPT_SET_META_CONTEXT);
            if (r.type == REP_META_CONTEXT) {
                if (r.data.remaining() < 4) {
                    throw fail("Malformed meta context reply");
                }
                long cid = r.data.getInt() & 0xffffffffL;
                byte[] n = new byte[r.data.remaining()];
                r.data.get(n);
                if (new String(n, StandardCharsets.UTF_8).equals(CTX_BASE_ALLOCATION)) {
                    id = cid;
                }
            } else if (r.type == REP_ACK) {
                return id;
            } else if (r.type == REP_ERR_UNSUP || r.type == REP_ERR_POLICY) {
                return -1;
            } else {
                throw optionError(r, OPT_SET_META_CONTEXT);
            }
        }
    }

    private ExportInfo go(String export, boolean structured, long context) throws IOException {
        byte[] name = utf8(export);
        ByteBuffer b = ByteBuffer.allocate(4 + name.length + 2 + 2);
        b.putInt(name.length).put(name).putShort((short) 1).putShort((short) INFO_BLOCK_SIZE).flip();
        sendOption(OPT_GO, b);
        long size = -1;
        int flags = 0;
        int min = 0;
        int pref = 0;
        int max = 0;
        while (true) {
            Reply r = readReply(OPT_GO);
            if (r.type == REP_ACK) {
                if (size < 0) {
                    throw fail("Server did not send export size");
                }
                return new ExportInfo(size, flags, min, pref, max, structured, context);
            }
            if (r.type != REP_INFO) {
                throw optionError(r, OPT_GO);
            }
            if (r.data.remaining() < 2) {
                throw fail("Malformed info reply");
            }
            int info = r.data.getShort() & 0xffff;
            if (info == INFO_EXPORT && r.data.remaining() >= 10) {
                size = r.data.getLong();
                flags = r.data.getShort() & 0xffff;
            } else if (info == INFO_BLOCK_SIZE && r.data.remaining() >= 12) {
                min = r.data.getInt();
                pref = r.data.getInt();
                max = r.data.getInt();
                if (min != 0 && (Integer.bitCount(min) != 1 || min > 65536)) {
                    throw fail("server minimum block size " + Integer.toUnsignedString(min) + " is not a power of two");
                }
            }
        }
    }

    private record Reply(int type, ByteBuffer data) {
    }

    private void sendOption(int option, ByteBuffer data) throws IOException {
        ByteBuffer h = ByteBuffer.allocate(16).putLong(IHAVEOPT).putInt(option).putInt(data.remaining()).flip();
        write(h);
        write(data);
    }

    private Reply readReply(int option) throws IOException {
        ByteBuffer h = read(20);
        if (h.getLong() != REPLY_MAGIC) {
            throw fail("Unexpected option reply magic");
        }
        int opt = h.getInt();
        int type = h.getInt();
        int len = h.getInt();
        if (opt != option) {
            throw fail("Unexpected option type " + opt + ", expected " + option);
        }
        if (len < 0 || len > MAX_OPTION) {
            throw fail("Option reply too large: " + Integer.toUnsignedString(len));
        }
        return new Reply(type, read(len));
    }

    /** QEMU's {@code nbd_handle_reply_err} wording. */
    private static BlockException optionError(Reply r, int option) {
        byte[] msg = new byte[r.data.remaining()];
        r.data.get(msg);
        // QEMU shows the server's own text only as a hint, not in the error itself
        String server = msg.length == 0 || r.type == REP_ERR_UNKNOWN ? ""
                : " (server reported: " + new String(msg, StandardCharsets.UTF_8) + ")";
        if (r.type == REP_ERR_TLS_REQD) {
            server = "; did you forget a valid tls-creds?" + server; // QEMU's hint
        }
        String text = switch (r.type) {
            case REP_ERR_UNKNOWN -> "Requested export not available";
            case REP_ERR_TLS_REQD -> "TLS negotiation required before option " + option + " (" + qemuOptionName(option) + ")";
            case REP_ERR_POLICY -> "Denied by server for option " + option + " (" + qemuOptionName(option) + ")";
            case REP_ERR_SHUTDOWN -> "Server shutting down before option " + option + " (" + qemuOptionName(option) + ")";
            case REP_ERR_UNSUP -> "Server does not support option " + option + " (" + qemuOptionName(option) + ")";
            default -> "Server rejected option " + option + " (" + qemuOptionName(option) + ") with error 0x"
                    + Integer.toHexString(r.type);
        };
        return new BlockException(r.type == REP_ERR_UNKNOWN ? BlockException.Kind.NOT_FOUND : BlockException.Kind.IO,
                text + server);
    }

    private static BlockException fail(String message) {
        return new BlockException(BlockException.Kind.IO, message);
    }

    private ByteBuffer read(int n) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(n);
        while (b.hasRemaining()) {
            if (ch.read(b) < 0) {
                throw new EOFException("Failed to read from the NBD server: end of stream");
            }
        }
        return b.flip();
    }

    private void write(ByteBuffer b) throws IOException {
        ch.write(b);
    }

    private static byte[] utf8(String s) {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        if (b.length > MAX_STRING) {
            throw BlockException.invalid("export name too long to send to server");
        }
        return b;
    }
}
