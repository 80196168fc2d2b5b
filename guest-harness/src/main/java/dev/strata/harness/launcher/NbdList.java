package dev.strata.harness.launcher;

import dev.strata.blockdrv.nbd.tls.UserObjects;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.NoSuchFileException;
import java.util.ArrayList;
import java.util.List;

/**
 * {@code strata nbd -L}: lists another NBD server's exports as qemu-nbd 7.2 prints them — per
 * export its description, size, transmission flags, block sizes and meta contexts (from
 * {@code NBD_OPT_LIST}, {@code NBD_OPT_INFO} and {@code NBD_OPT_LIST_META_CONTEXT}); {@code -x}
 * lists one export. With {@code --tls-creds} (an {@code endpoint=client} x509 object) it asks
 * for {@code NBD_OPT_STARTTLS} first and lists over TLS, as qemu-nbd does. One thread.
 */
final class NbdList {

    private static final long IHAVEOPT = 0x49484156454F5054L;
    private static final long OPT_REPLY_MAGIC = 0x3e889045565a9L;
    private static final int OPT_ABORT = 2;
    private static final int OPT_LIST = 3;
    private static final int OPT_STARTTLS = 5;
    private static final int OPT_INFO = 6;
    private static final int OPT_STRUCTURED_REPLY = 8;
    private static final int OPT_LIST_META_CONTEXT = 9;
    private static final int REP_ACK = 1;
    private static final int REP_SERVER = 2;
    private static final int REP_INFO = 3;
    private static final int REP_META_CONTEXT = 4;
    private static final String[] FLAG_NAMES = {"readonly", "flush", "fua", "rotational", "trim", "zeroes", "df", "multi",
        "resize", "cache", "fast-zero"};

    private record Export(String name, String description, long size, int flags, int min, int opt, int max, List<String> contexts) {
    }

    private NbdList() {
    }

    static int run(NbdToolOptions o, UserObjects objects, PrintStream out, PrintStream err) {
        dev.strata.blockdrv.nbd.tls.X509Credentials tls = null;
        if (o.tlsCreds != null) {
            try {
                tls = objects.clientCredentials(o.tlsCreds);
            } catch (dev.strata.blockdrv.BlockException e) {
                err.println("strata nbd: Failed to get TLS creds: " + e.getMessage());
                return 1;
            }
        }
        SocketAddress addr;
        String shown;
        String host = null;
        if (o.socket != null) {
            addr = UnixDomainSocketAddress.of(o.socket);
            shown = o.socket;
        } else {
            host = o.bind == null ? "localhost" : o.bind;
            String port = o.port == null ? "10809" : o.port;
            addr = new InetSocketAddress(host, Integer.parseInt(port));
            shown = host + ":" + port;
        }
        SocketChannel ch;
        try {
            ch = SocketChannel.open(addr);
        } catch (IOException e) {
            String why = e instanceof NoSuchFileException ? "No such file or directory"
                    : e instanceof java.net.ConnectException ? "Connection refused" : String.valueOf(e.getMessage());
            err.println("strata nbd: Failed to connect to '" + shown + "': " + why);
            return 1;
        }
        dev.strata.blockdrv.nbd.TlsClientSession session = null;
        try (ch) {
            DataInputStream in = new DataInputStream(Channels.newInputStream(ch));
            DataOutputStream os = new DataOutputStream(Channels.newOutputStream(ch));
            greet(in, os);
            if (tls != null) {
                if (host == null && tls.verifyPeer()) {
                    // qemu-nbd 7.2 checks the server's certificate against the host name it dialled;
                    // a unix socket has none, and qemu-nbd has no --tls-hostname to give one
                    err.println("strata nbd: No hostname for certificate validation");
                    return 1;
                }
                session = startTls(in, os, ch, tls.context(), tls.verifyPeer() ? host : null);
                in = new DataInputStream(new java.io.BufferedInputStream(session.input()));
                os = new DataOutputStream(new java.io.BufferedOutputStream(session.output()));
            }
            List<Export> exports = list(in, os, o.exportName);
            print(exports, out);
            return 0;
        } catch (javax.net.ssl.SSLException e) {
            err.println("strata nbd: TLS handshake failed: " + e.getMessage());
            return 1;
        } catch (IOException e) {
            err.println("strata nbd: " + e.getMessage());
            return 1;
        } finally {
            if (session != null) {
                session.close();
            }
        }
    }

    private static void greet(DataInputStream in, DataOutputStream os) throws IOException {
        if (in.readLong() != 0x4e42444d41474943L || in.readLong() != IHAVEOPT) {
            throw new IOException("Server is not an NBD server with the fixed newstyle handshake");
        }
        in.readUnsignedShort();
        os.writeInt(3); // FIXED_NEWSTYLE | NO_ZEROES
    }

    /** NBD_OPT_STARTTLS, then the TLS handshake on the same socket. */
    private static dev.strata.blockdrv.nbd.TlsClientSession startTls(DataInputStream in, DataOutputStream os, SocketChannel ch,
                                                                     javax.net.ssl.SSLContext tls, String host) throws IOException {
        option(os, OPT_STARTTLS, new byte[0]);
        Reply r = reply(in, OPT_STARTTLS);
        if (r.type() != REP_ACK) {
            throw new IOException("Server rejected request to start TLS (reply type 0x" + Integer.toHexString(r.type()) + ")");
        }
        return dev.strata.blockdrv.nbd.TlsClientSession.start(ch, tls, host);
    }

    private static List<Export> list(DataInputStream in, DataOutputStream os, String only) throws IOException {
        // as qemu-nbd -L: structured replies first, so the server offers DF and its meta contexts
        option(os, OPT_STRUCTURED_REPLY, new byte[0]);
        reply(in, OPT_STRUCTURED_REPLY);
        List<String> names = new ArrayList<>();
        if (only != null) {
            names.add(only);
        } else {
            option(os, OPT_LIST, new byte[0]);
            for (Reply r = reply(in, OPT_LIST); r.type != REP_ACK; r = reply(in, OPT_LIST)) {
                if (r.type == REP_SERVER) {
                    DataInputStream d = r.data();
                    byte[] n = new byte[d.readInt()];
                    d.readFully(n);
                    names.add(new String(n, StandardCharsets.UTF_8));
                }
            }
        }
        List<Export> out = new ArrayList<>();
        for (String name : names) {
            out.add(info(in, os, name));
        }
        option(os, OPT_ABORT, new byte[0]);
        return out;
    }

    private static Export info(DataInputStream in, DataOutputStream os, String name) throws IOException {
        byte[] n = name.getBytes(StandardCharsets.UTF_8);
        java.io.ByteArrayOutputStream b = new java.io.ByteArrayOutputStream();
        DataOutputStream d = new DataOutputStream(b);
        d.writeInt(n.length);
        d.write(n);
        d.writeShort(2);
        d.writeShort(2); // NBD_INFO_DESCRIPTION
        d.writeShort(3); // NBD_INFO_BLOCK_SIZE
        option(os, OPT_INFO, b.toByteArray());
        String desc = null;
        long size = 0;
        int flags = 0;
        int min = 1;
        int opt = 4096;
        int max = 32 << 20;
        for (Reply r = reply(in, OPT_INFO); r.type != REP_ACK; r = reply(in, OPT_INFO)) {
            if (r.type != REP_INFO) {
                throw new IOException("Server refused export '" + name + "' (reply type 0x" + Integer.toHexString(r.type) + ")");
            }
            DataInputStream i = r.data();
            switch (i.readUnsignedShort()) {
                case 0 -> {
                    size = i.readLong();
                    flags = i.readUnsignedShort();
                }
                case 2 -> desc = new String(i.readAllBytes(), StandardCharsets.UTF_8);
                case 3 -> {
                    min = i.readInt();
                    opt = i.readInt();
                    max = i.readInt();
                }
                default -> { }
            }
        }
        b.reset();
        d.writeInt(n.length);
        d.write(n);
        d.writeInt(0);
        option(os, OPT_LIST_META_CONTEXT, b.toByteArray());
        List<String> contexts = new ArrayList<>();
        for (Reply r = reply(in, OPT_LIST_META_CONTEXT); r.type != REP_ACK; r = reply(in, OPT_LIST_META_CONTEXT)) {
            if (r.type == REP_META_CONTEXT) {
                DataInputStream i = r.data();
                i.readInt();
                contexts.add(new String(i.readAllBytes(), StandardCharsets.UTF_8));
            } else {
                break; // no structured replies or contexts: list none, as qemu-nbd does
            }
        }
        return new Export(name, desc, size, flags, min, opt, max, contexts);
    }

    private record Reply(int type, byte[] payload) {
        DataInputStream data() {
            return new DataInputStream(new java.io.ByteArrayInputStream(payload));
        }
    }

    private static void option(DataOutputStream os, int opt, byte[] data) throws IOException {
        os.writeLong(IHAVEOPT);
        os.writeInt(opt);
        os.writeInt(data.length);
        os.write(data);
        os.flush();
    }

    private static Reply reply(DataInputStream in, int opt) throws IOException {
        try {
            if (in.readLong() != OPT_REPLY_MAGIC || in.readInt() != opt) {
                throw new IOException("Unexpected option reply from the server");
            }
            int type = in.readInt();
            int len = in.readInt();
            if (len < 0 || len > (1 << 20)) {
                throw new IOException("Option reply too long: " + len);
            }
            byte[] p = new byte[len];
            in.readFully(p);
            return new Reply(type, p);
        } catch (EOFException e) {
            throw new IOException("Server closed the connection during negotiation");
        }
    }

    private static void print(List<Export> exports, PrintStream out) {
        out.println("exports available: " + exports.size());
        for (Export e : exports) {
            out.println(" export: '" + e.name() + "'");
            if (e.description() != null && !e.description().isEmpty()) {
                out.println("  description: " + e.description());
            }
            out.println("  size:  " + e.size());
            StringBuilder f = new StringBuilder("  flags: 0x" + Integer.toHexString(e.flags()) + " (");
            for (int bit = 1; bit <= FLAG_NAMES.length; bit++) {
                if ((e.flags() & (1 << bit)) != 0) {
                    f.append(' ').append(FLAG_NAMES[bit - 1]);
                }
            }
            out.println(f.append(" )"));
            out.println("  min block: " + e.min());
            out.println("  opt block: " + e.opt());
            out.println("  max block: " + e.max());
            out.println("  available meta contexts: " + e.contexts().size());
            for (String c : e.contexts()) {
                out.println("   " + c);
            }
        }
    }
}
