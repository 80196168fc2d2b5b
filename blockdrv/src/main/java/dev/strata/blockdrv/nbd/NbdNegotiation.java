package dev.strata.blockdrv.nbd;

import static dev.strata.blockdrv.nbd.NbdProtocol.*;

import java.io.IOException;
import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLPeerUnverifiedException;
import javax.security.auth.x500.X500Principal;
import org.slf4j.Logger;

/**
 * The option haggling of the fixed newstyle handshake ({@code doc/proto.md}, "Option types"), on
 * the connection's reader thread. Every option is read whole before it is judged, so a malformed
 * one gets its error reply and the next one is parsed from the right place.
 */
final class NbdNegotiation {

    private static final Logger LOG = NbdServer.log();

    private final NbdConnection c;
    private boolean fixed;

    NbdNegotiation(NbdConnection c) {
        this.c = c;
    }

    /** Runs the option phase; returns the export chosen, or null when the client aborted. */
    NbdExport negotiate() throws IOException {
        int clientFlags = c.input.readInt();
        if ((clientFlags & ~CLIENT_FLAGS_KNOWN) != 0) {
            throw new NbdProtocolViolation("unknown client flags 0x" + Integer.toHexString(clientFlags));
        }
        fixed = (clientFlags & FLAG_FIXED_NEWSTYLE) != 0;
        c.noZeroes = (clientFlags & FLAG_NO_ZEROES) != 0;
        while (true) {
            long magic = c.input.readLong();
            if (magic != IHAVEOPT) {
                throw new NbdProtocolViolation("bad option magic 0x" + Long.toHexString(magic));
            }
            int opt = c.input.readInt();
            long len = Integer.toUnsignedLong(c.input.readInt());
            if (len > MAX_OPTION) {
                if (opt != OPT_EXPORT_NAME && fixed) {
                    error(opt, REP_ERR_TOO_BIG, "option " + optionName(opt) + " of " + len + " bytes is too long");
                }
                throw new NbdProtocolViolation(optionName(opt) + " with " + len + " bytes of data is too long");
            }
            ByteBuffer data = ByteBuffer.allocate((int) len);
            c.input.readFully(data);
            data.flip();
            if (!fixed && opt != OPT_EXPORT_NAME) {
                throw new NbdProtocolViolation("client without fixed newstyle sent " + optionName(opt));
            }
            NbdTlsConfig tls = c.server.tls();
            if (tls != null && tls.required() && !c.tlsActive && opt != OPT_STARTTLS) {
                if (opt == OPT_EXPORT_NAME) {
                    throw new NbdProtocolViolation("NBD_OPT_EXPORT_NAME not permitted before TLS");
                }
                LOG.info("nbd: client {}: {} refused before TLS", c.peer, optionName(opt));
                error(opt, REP_ERR_TLS_REQD, "Option 0x" + Integer.toHexString(opt) + " not permitted before TLS");
                if (opt == OPT_ABORT) {
                    return null;
                }
                continue;
            }
            try {
                NbdExport chosen = handle(opt, data);
                if (chosen != null) {
                    return chosen;
                }
                if (opt == OPT_ABORT) {
                    return null;
                }
            } catch (BufferUnderflowException | CharacterCodingException e) {
                LOG.info("nbd: client {}: malformed {}", c.peer, optionName(opt));
                error(opt, REP_ERR_INVALID, "malformed " + optionName(opt) + " request");
            }
        }
    }

    /** One option; returns the export when the option ends negotiation. */
    private NbdExport handle(int opt, ByteBuffer data) throws IOException, CharacterCodingException {
        switch (opt) {
            case OPT_EXPORT_NAME -> {
                String name = string(data, data.remaining());
                NbdExport e = c.server.export(name);
                if (e == null) {
                    throw new NbdProtocolViolation("NBD_OPT_EXPORT_NAME for unknown export '" + name + "'");
                }
                forgetContextsUnlessFor(e);
                if (!c.attachTo(e)) {
                    throw new NbdProtocolViolation("NBD_OPT_EXPORT_NAME for export '" + name + "', removed meanwhile");
                }
                ByteBuffer b = ByteBuffer.allocate(10 + (c.noZeroes ? 0 : 124));
                b.putLong(e.backend().size()).putShort((short) transmissionFlags(e));
                c.transport.write(b.position(b.capacity()).flip());
                return e;
            }
            case OPT_ABORT -> {
                reply(opt, REP_ACK, null);
                return null;
            }
            case OPT_LIST -> {
                if (data.hasRemaining()) {
                    return invalidLength(opt);
                }
                for (NbdExport e : c.server.exports()) {
                    byte[] name = e.name().getBytes(StandardCharsets.UTF_8);
                    byte[] desc = e.description() == null ? new byte[0] : e.description().getBytes(StandardCharsets.UTF_8);
                    reply(opt, REP_SERVER, ByteBuffer.allocate(4 + name.length + desc.length).putInt(name.length).put(name).put(desc).flip());
                }
                reply(opt, REP_ACK, null);
            }
            case OPT_STARTTLS -> startTls(data);
            case OPT_INFO, OPT_GO -> {
                return info(opt, data);
            }
            case OPT_STRUCTURED_REPLY -> {
                if (data.hasRemaining()) {
                    return invalidLength(opt);
                }
                if (c.structuredReplies) {
                    error(opt, REP_ERR_INVALID, "structured reply already negotiated");
                } else {
                    c.structuredReplies = true;
                    reply(opt, REP_ACK, null);
                }
            }
            case OPT_LIST_META_CONTEXT, OPT_SET_META_CONTEXT -> metaContext(opt, data);
            default -> {
                LOG.info("nbd: client {}: unsupported {}", c.peer, optionName(opt));
                error(opt, REP_ERR_UNSUP, "Unsupported option " + Integer.toUnsignedString(opt) + " (" + qemuOptionName(opt) + ")");
            }
        }
        return null;
    }

    private NbdExport invalidLength(int opt) throws IOException {
        LOG.info("nbd: client {}: {} with unexpected data", c.peer, optionName(opt));
        error(opt, REP_ERR_INVALID, "option '" + qemuOptionName(opt) + "' has unexpected length");
        return null;
    }

    private void startTls(ByteBuffer data) throws IOException {
        NbdTlsConfig tls = c.server.tls();
        if (data.hasRemaining()) {
            invalidLength(OPT_STARTTLS);
            if (tls != null && tls.required() && !c.tlsActive) {
                // QEMU hangs up here: a client that gets STARTTLS wrong gets no second try at it
                throw new NbdProtocolViolation("NBD_OPT_STARTTLS with data before TLS");
            }
            return;
        }
        if (c.tlsActive) {
            error(OPT_STARTTLS, REP_ERR_INVALID, "TLS already enabled");
            return;
        }
        if (tls == null) {
            error(OPT_STARTTLS, REP_ERR_POLICY, "TLS not configured");
            return;
        }
        reply(OPT_STARTTLS, REP_ACK, null);
        SSLEngine engine = tls.context().createSSLEngine();
        engine.setUseClientMode(false);
        if (tls.requireClientCertificate() || tls.authorizer() != null) {
            engine.setNeedClientAuth(true);
        }
        // bytes already buffered are the start of the client's hello when it did not wait for our ACK
        TlsTransport t = new TlsTransport(c.channel, engine, c.transport.writeLock(), c.input.takeBuffered());
        c.input.use(t);
        c.transport = t;
        t.handshake();
        c.tlsActive = true;
        if (tls.authorizer() != null) {
            String dn;
            try {
                dn = ((X500Principal) engine.getSession().getPeerPrincipal()).getName();
            } catch (SSLPeerUnverifiedException e) {
                dn = null;
            }
            if (!tls.authorizer().isAllowed(dn)) {
                throw new NbdProtocolViolation("TLS client '" + dn + "' is not authorized");
            }
        }
        // options chosen before TLS do not carry over (the spec asks clients to start again)
        c.structuredReplies = false;
        c.metaContexts = List.of();
        c.metaExportName = null;
        LOG.debug("nbd: client {} upgraded to TLS", c.peer);
    }

    private NbdExport info(int opt, ByteBuffer data) throws IOException, CharacterCodingException {
        String name = string(data, data.getInt());
        int n = Short.toUnsignedInt(data.getShort());
        if (data.remaining() != 2 * n) {
            LOG.info("nbd: client {}: {} with a bad request count", c.peer, optionName(opt));
            error(opt, REP_ERR_INVALID, "Inconsistent lengths in option " + qemuOptionName(opt));
            return null;
        }
        boolean wantName = false;
        boolean wantDescription = false;
        boolean wantBlockSize = false;
        for (int i = 0; i < n; i++) {
            switch (data.getShort()) {
                case INFO_NAME -> wantName = true;
                case INFO_DESCRIPTION -> wantDescription = true;
                case INFO_BLOCK_SIZE -> wantBlockSize = true;
                default -> {
                    // unknown requests are ignored, as the spec says
                }
            }
        }
        NbdExport e = c.server.export(name);
        if (e == null) {
            LOG.info("nbd: client {}: {} for unknown export '{}'", c.peer, optionName(opt), name);
            error(opt, REP_ERR_UNKNOWN, "export '" + name + "' not present");
            return null;
        }
        if (wantName) {
            byte[] b = e.name().getBytes(StandardCharsets.UTF_8);
            reply(opt, REP_INFO, ByteBuffer.allocate(2 + b.length).putShort((short) INFO_NAME).put(b).flip());
        }
        if (wantDescription && e.description() != null) {
            byte[] b = e.description().getBytes(StandardCharsets.UTF_8);
            reply(opt, REP_INFO, ByteBuffer.allocate(2 + b.length).putShort((short) INFO_DESCRIPTION).put(b).flip());
        }
        // always sent, as QEMU does: a client that does not ask still learns the limits
        reply(opt, REP_INFO, ByteBuffer.allocate(14).putShort((short) INFO_BLOCK_SIZE)
                .putInt(1).putInt(4096).putInt(MAX_BUFFER).flip());
        reply(opt, REP_INFO, ByteBuffer.allocate(12).putShort((short) INFO_EXPORT)
                .putLong(e.backend().size()).putShort((short) transmissionFlags(e)).flip());
        // the client counts as connected before it hears the ACK (QEMU takes its export reference
        // there too), so a safe-mode removal after the client's GO sees it
        if (opt == OPT_GO && !c.attachTo(e)) {
            error(opt, REP_ERR_UNKNOWN, "export '" + e.name() + "' not present");
            return null;
        }
        reply(opt, REP_ACK, null);
        if (opt == OPT_GO) {
            forgetContextsUnlessFor(e);
            return e;
        }
        return null;
    }

    private void forgetContextsUnlessFor(NbdExport e) {
        if (c.metaExportName != null && !c.metaExportName.equals(e.name())) {
            c.metaContexts = List.of();
        }
        if (!c.structuredReplies) {
            c.metaContexts = List.of();
        }
    }

    private void metaContext(int opt, ByteBuffer data) throws IOException, CharacterCodingException {
        boolean listing = opt == OPT_LIST_META_CONTEXT;
        if (!c.structuredReplies) {
            LOG.info("nbd: client {}: {} before structured replies", c.peer, optionName(opt));
            error(opt, REP_ERR_INVALID, "request option '" + qemuOptionName(opt) + "' when structured reply is not negotiated");
            return;
        }
        String name = string(data, data.getInt());
        int count = data.getInt();
        List<String> queries = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            queries.add(string(data, data.getInt()));
        }
        if (data.hasRemaining()) {
            throw new BufferUnderflowException();
        }
        NbdExport e = c.server.export(name);
        if (e == null) {
            LOG.info("nbd: client {}: {} for unknown export '{}'", c.peer, optionName(opt), name);
            error(opt, REP_ERR_UNKNOWN, "export '" + name + "' not present");
            return;
        }
        List<MetaContext> matched = MetaContext.match(e, queries, listing);
        for (MetaContext m : matched) {
            byte[] b = m.name().getBytes(StandardCharsets.UTF_8);
            reply(opt, REP_META_CONTEXT, ByteBuffer.allocate(4 + b.length).putInt(listing ? 0 : m.id()).put(b).flip());
        }
        if (!listing) {
            c.metaContexts = matched;
            c.metaExportName = name;
        }
        reply(opt, REP_ACK, null);
    }

    /** A UTF-8 string of {@code len} bytes from {@code data}; underflow when the length lies. */
    private static String string(ByteBuffer data, int len) throws CharacterCodingException {
        if (len < 0 || len > data.remaining() || len > MAX_STRING) {
            throw new BufferUnderflowException();
        }
        ByteBuffer s = data.slice(data.position(), len);
        data.position(data.position() + len);
        return StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT).decode(s).toString();
    }

    /** The transmission flags this client sees for {@code e}. */
    int transmissionFlags(NbdExport e) {
        int f = TFLAG_HAS_FLAGS | TFLAG_SEND_FLUSH | TFLAG_SEND_FUA | TFLAG_SEND_CACHE;
        if (e.writable()) {
            f |= TFLAG_SEND_TRIM | TFLAG_SEND_WRITE_ZEROES | TFLAG_SEND_FAST_ZERO;
        } else {
            f |= TFLAG_READ_ONLY;
        }
        if (c.structuredReplies) {
            f |= TFLAG_SEND_DF;
        }
        if (e.multiConn()) {
            f |= TFLAG_CAN_MULTI_CONN;
        }
        return f;
    }

    private void reply(int opt, int type, ByteBuffer data) throws IOException {
        int len = data == null ? 0 : data.remaining();
        ByteBuffer h = ByteBuffer.allocate(20).putLong(REPLY_MAGIC).putInt(opt).putInt(type).putInt(len).flip();
        if (data == null) {
            c.transport.write(h);
        } else {
            c.transport.write(h, data);
        }
    }

    private void error(int opt, int type, String message) throws IOException {
        reply(opt, type, ByteBuffer.wrap(message.getBytes(StandardCharsets.UTF_8)));
    }
}
