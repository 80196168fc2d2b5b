package dev.strata.blockdrv.nbd;

/**
 * The NBD protocol's numbers, as {@code doc/proto.md} of the NetworkBlockDevice project defines
 * them (section names in the comments), plus QEMU's meta contexts ({@code docs/interop/nbd.txt}).
 * Constants only.
 */
public final class NbdProtocol {

    private NbdProtocol() {
    }

    // "Newstyle negotiation"
    public static final long NBDMAGIC = 0x4e42444d41474943L;
    public static final long IHAVEOPT = 0x49484156454F5054L;
    public static final long REPLY_MAGIC = 0x3e889045565a9L;

    public static final int FLAG_FIXED_NEWSTYLE = 1;
    public static final int FLAG_NO_ZEROES = 1 << 1;
    public static final int CLIENT_FLAGS_KNOWN = FLAG_FIXED_NEWSTYLE | FLAG_NO_ZEROES;

    // "Option types"
    public static final int OPT_EXPORT_NAME = 1;
    public static final int OPT_ABORT = 2;
    public static final int OPT_LIST = 3;
    public static final int OPT_STARTTLS = 5;
    public static final int OPT_INFO = 6;
    public static final int OPT_GO = 7;
    public static final int OPT_STRUCTURED_REPLY = 8;
    public static final int OPT_LIST_META_CONTEXT = 9;
    public static final int OPT_SET_META_CONTEXT = 10;

    // "Option reply types"
    public static final int REP_ACK = 1;
    public static final int REP_SERVER = 2;
    public static final int REP_INFO = 3;
    public static final int REP_META_CONTEXT = 4;
    public static final int REP_ERR_UNSUP = 0x80000001;
    public static final int REP_ERR_POLICY = 0x80000002;
    public static final int REP_ERR_INVALID = 0x80000003;
    public static final int REP_ERR_PLATFORM = 0x80000004;
    public static final int REP_ERR_TLS_REQD = 0x80000005;
    public static final int REP_ERR_UNKNOWN = 0x80000006;
    public static final int REP_ERR_SHUTDOWN = 0x80000007;
    public static final int REP_ERR_BLOCK_SIZE_REQD = 0x80000008;
    public static final int REP_ERR_TOO_BIG = 0x80000009;

    // "NBD_OPT_INFO and NBD_OPT_GO" information types
    public static final int INFO_EXPORT = 0;
    public static final int INFO_NAME = 1;
    public static final int INFO_DESCRIPTION = 2;
    public static final int INFO_BLOCK_SIZE = 3;

    // "Transmission flags"
    public static final int TFLAG_HAS_FLAGS = 1;
    public static final int TFLAG_READ_ONLY = 1 << 1;
    public static final int TFLAG_SEND_FLUSH = 1 << 2;
    public static final int TFLAG_SEND_FUA = 1 << 3;
    public static final int TFLAG_ROTATIONAL = 1 << 4;
    public static final int TFLAG_SEND_TRIM = 1 << 5;
    public static final int TFLAG_SEND_WRITE_ZEROES = 1 << 6;
    public static final int TFLAG_SEND_DF = 1 << 7;
    public static final int TFLAG_CAN_MULTI_CONN = 1 << 8;
    public static final int TFLAG_SEND_CACHE = 1 << 10;
    public static final int TFLAG_SEND_FAST_ZERO = 1 << 11;

    // "Transmission phase": requests and replies
    public static final int REQUEST_MAGIC = 0x25609513;
    public static final int SIMPLE_REPLY_MAGIC = 0x67446698;
    public static final int STRUCTURED_REPLY_MAGIC = 0x668e33ef;
    public static final int REQUEST_HEADER = 28;
    public static final int SIMPLE_REPLY_HEADER = 16;
    public static final int STRUCTURED_REPLY_HEADER = 20;

    // "Request types"
    public static final int CMD_READ = 0;
    public static final int CMD_WRITE = 1;
    public static final int CMD_DISC = 2;
    public static final int CMD_FLUSH = 3;
    public static final int CMD_TRIM = 4;
    public static final int CMD_CACHE = 5;
    public static final int CMD_WRITE_ZEROES = 6;
    public static final int CMD_BLOCK_STATUS = 7;

    // "Command flags"
    public static final int CMD_FLAG_FUA = 1;
    public static final int CMD_FLAG_NO_HOLE = 1 << 1;
    public static final int CMD_FLAG_DF = 1 << 2;
    public static final int CMD_FLAG_REQ_ONE = 1 << 3;
    public static final int CMD_FLAG_FAST_ZERO = 1 << 4;

    // "Structured reply chunk message types"
    public static final int REPLY_FLAG_DONE = 1;
    public static final int REPLY_TYPE_NONE = 0;
    public static final int REPLY_TYPE_OFFSET_DATA = 1;
    public static final int REPLY_TYPE_OFFSET_HOLE = 2;
    public static final int REPLY_TYPE_BLOCK_STATUS = 5;
    public static final int REPLY_TYPE_ERROR = 0x8001;
    public static final int REPLY_TYPE_ERROR_OFFSET = 0x8002;

    // "Error values"
    public static final int EPERM = 1;
    public static final int EIO = 5;
    public static final int ENOMEM = 12;
    public static final int EINVAL = 22;
    public static final int ENOSPC = 28;
    public static final int EOVERFLOW = 75;
    public static final int ENOTSUP = 95;
    public static final int ESHUTDOWN = 108;

    /** Largest payload a request may carry or a reply may return: QEMU's NBD_MAX_BUFFER_SIZE (32 MiB). */
    public static final int MAX_BUFFER = 32 << 20;
    /** Longest string in negotiation (names, queries): the spec's 4096. */
    public static final int MAX_STRING = 4096;
    /** Longest option payload accepted before answering {@code NBD_REP_ERR_TOO_BIG} and disconnecting. */
    public static final int MAX_OPTION = 64 << 10;

    // "Metadata querying": base and QEMU's contexts
    public static final String CTX_BASE_ALLOCATION = "base:allocation";
    public static final String CTX_ALLOCATION_DEPTH = "qemu:allocation-depth";
    public static final String CTX_DIRTY_BITMAP_PREFIX = "qemu:dirty-bitmap:";
    public static final int STATE_HOLE = 1;
    public static final int STATE_ZERO = 2;
    public static final int STATE_DIRTY = 1;

    /** The option's name for log lines. */
    public static String optionName(int opt) {
        return switch (opt) {
            case OPT_EXPORT_NAME -> "NBD_OPT_EXPORT_NAME";
            case OPT_ABORT -> "NBD_OPT_ABORT";
            case OPT_LIST -> "NBD_OPT_LIST";
            case OPT_STARTTLS -> "NBD_OPT_STARTTLS";
            case OPT_INFO -> "NBD_OPT_INFO";
            case OPT_GO -> "NBD_OPT_GO";
            case OPT_STRUCTURED_REPLY -> "NBD_OPT_STRUCTURED_REPLY";
            case OPT_LIST_META_CONTEXT -> "NBD_OPT_LIST_META_CONTEXT";
            case OPT_SET_META_CONTEXT -> "NBD_OPT_SET_META_CONTEXT";
            default -> "option " + Integer.toUnsignedString(opt);
        };
    }

    /** The option's name as QEMU's messages spell it ({@code nbd_opt_lookup}), e.g. {@code set meta context}. */
    public static String qemuOptionName(int opt) {
        return switch (opt) {
            case OPT_EXPORT_NAME -> "export name";
            case OPT_ABORT -> "abort";
            case OPT_LIST -> "list";
            case 4 -> "peek export";
            case OPT_STARTTLS -> "starttls";
            case OPT_INFO -> "info";
            case OPT_GO -> "go";
            case OPT_STRUCTURED_REPLY -> "structured reply";
            case OPT_LIST_META_CONTEXT -> "list meta context";
            case OPT_SET_META_CONTEXT -> "set meta context";
            default -> "<unknown>";
        };
    }

    /** The command's name for log lines and error messages. */
    public static String commandName(int type) {
        return switch (type) {
            case CMD_READ -> "NBD_CMD_READ";
            case CMD_WRITE -> "NBD_CMD_WRITE";
            case CMD_DISC -> "NBD_CMD_DISC";
            case CMD_FLUSH -> "NBD_CMD_FLUSH";
            case CMD_TRIM -> "NBD_CMD_TRIM";
            case CMD_CACHE -> "NBD_CMD_CACHE";
            case CMD_WRITE_ZEROES -> "NBD_CMD_WRITE_ZEROES";
            case CMD_BLOCK_STATUS -> "NBD_CMD_BLOCK_STATUS";
            default -> "command " + type;
        };
    }
}
