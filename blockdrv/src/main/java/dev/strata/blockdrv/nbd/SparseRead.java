package dev.strata.blockdrv.nbd;

import dev.strata.blockdrv.BlockBackend;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

/**
 * A structured read that sends zero ranges as {@code OFFSET_HOLE} chunks instead of bytes, as
 * QEMU's server does: the chain's block status splits the range, only the data parts are read.
 * Stateless; called from request threads.
 */
final class SparseRead {

    /** Marks a piece as data until it is read. */
    private static final ByteBuffer DATA = ByteBuffer.allocate(0);

    private SparseRead() {
    }

    /** Reads {@code [offset, offset + buf.limit())} into {@code buf} where it holds data and sends the chunks. */
    static void send(BlockBackend backend, long cookie, long offset, ByteBuffer buf, NbdReplies replies) throws IOException {
        int len = buf.limit();
        List<NbdReplies.Piece> pieces = new ArrayList<>(2);
        int done = 0;
        while (done < len) {
            ChainStatus.Extent e = ChainStatus.at(backend.root(), offset + done, len - done);
            int n = (int) e.length();
            // merge with the previous piece when it has the same kind
            if (!pieces.isEmpty() && (pieces.getLast().data() == null) == e.zero()) {
                NbdReplies.Piece last = pieces.removeLast();
                pieces.add(new NbdReplies.Piece(last.offset(), last.length() + n, last.data()));
            } else {
                pieces.add(new NbdReplies.Piece(offset + done, n, e.zero() ? null : DATA));
            }
            done += n;
        }
        if (pieces.size() == 1 && pieces.getFirst().data() != null) {
            backend.read(offset, buf);
            buf.flip();
            replies.data(cookie, offset, buf);
            return;
        }
        List<NbdReplies.Piece> out = new ArrayList<>(pieces.size());
        for (NbdReplies.Piece p : pieces) {
            if (p.data() == null) {
                out.add(p);
            } else {
                int at = (int) (p.offset() - offset);
                ByteBuffer part = buf.slice(at, p.length());
                backend.read(p.offset(), part);
                out.add(new NbdReplies.Piece(p.offset(), p.length(), part.flip()));
            }
        }
        replies.sparse(cookie, out);
    }
}
