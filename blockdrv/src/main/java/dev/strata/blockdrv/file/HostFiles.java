package dev.strata.blockdrv.file;

import dev.strata.blockdrv.BlockException;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/** Opening host files and turning host errors into {@link BlockException}s with QEMU's wording. */
public final class HostFiles {

    private HostFiles() {
    }

    /** Opens {@code path}; fails as {@code Could not open 'x': No such file or directory} and friends. */
    public static FileChannel open(Path path, String shownName, boolean readOnly) {
        return open(path, shownName, readOnly, false);
    }

    /**
     * Opens {@code path}, with O_DIRECT when {@code direct}. A file system that refuses O_DIRECT
     * (the kernel answers EINVAL) fails as QEMU says it: {@code Could not open 'x': filesystem
     * does not support O_DIRECT}.
     */
    public static FileChannel open(Path path, String shownName, boolean readOnly, boolean direct) {
        if (Files.isDirectory(path)) {
            throw new BlockException(BlockException.Kind.INVALID_ARGUMENT, "Could not open '" + shownName + "': Is a directory");
        }
        try {
            return FileDriver.openChannel(path, readOnly, direct);
        } catch (NoSuchFileException e) {
            throw new BlockException(BlockException.Kind.NOT_FOUND, "Could not open '" + shownName + "': No such file or directory", e);
        } catch (AccessDeniedException e) {
            throw new BlockException(BlockException.Kind.PERMISSION, "Could not open '" + shownName + "': Permission denied", e);
        } catch (FileSystemException e) {
            if (direct && "Invalid argument".equals(e.getReason())) {
                throw new BlockException(BlockException.Kind.INVALID_ARGUMENT,
                        "Could not open '" + shownName + "': filesystem does not support O_DIRECT", e);
            }
            throw new BlockException(BlockException.Kind.IO, "Could not open '" + shownName + "': " + e.getMessage(), e);
        } catch (IOException e) {
            throw new BlockException(BlockException.Kind.IO, "Could not open '" + shownName + "': " + e.getMessage(), e);
        }
    }

    /**
     * The alignment O_DIRECT I/O on {@code path} needs: the block size its file system reports,
     * which is also what the JDK checks every direct read and write against.
     */
    static int directAlignment(Path path) {
        try {
            long b = Files.getFileStore(path).getBlockSize();
            return b > 0 && b <= (1 << 20) ? (int) b : 4096;
        } catch (IOException | UnsupportedOperationException e) {
            return 4096;
        }
    }

    /** Creating {@code file} failed: QEMU's {@code Could not create 'x': <strerror>}. */
    public static BlockException createFailed(Path file, IOException e) {
        String why = e instanceof NoSuchFileException ? "No such file or directory"
                : e instanceof AccessDeniedException ? "Permission denied"
                : Files.isDirectory(file) ? "Is a directory" : strerror(e);
        return new BlockException(BlockException.Kind.IO, "Could not create '" + file + "': " + why, e);
    }

    /** java.io names the errno in parentheses at the end ({@code /x/y (No such file or directory)}). */
    private static String strerror(IOException e) {
        String m = String.valueOf(e.getMessage());
        int open = m.lastIndexOf(" (");
        return e instanceof java.io.FileNotFoundException && open >= 0 && m.endsWith(")") ? m.substring(open + 2, m.length() - 1) : m;
    }

    /** Maps an I/O failure on an open file: ENOSPC becomes NO_SPACE so werror=enospc can tell. */
    public static BlockException ioError(String file, IOException e) {
        String m = String.valueOf(e.getMessage());
        if (m.contains("No space left")) {
            return new BlockException(BlockException.Kind.NO_SPACE, "No space left on device", e);
        }
        return new BlockException(BlockException.Kind.IO, "Input/output error on '" + file + "': " + m, e);
    }
}
