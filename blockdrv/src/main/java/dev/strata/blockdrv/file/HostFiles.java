package dev.strata.blockdrv.file;

import dev.strata.blockdrv.BlockException;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/** Opening host files and turning host errors into {@link BlockException}s with QEMU's wording. */
public final class HostFiles {

    private HostFiles() {
    }

    /** Opens {@code path}; fails as {@code Could not open 'x': No such file or directory} and friends. */
    public static FileChannel open(Path path, String shownName, boolean readOnly) {
        if (Files.isDirectory(path)) {
            throw new BlockException(BlockException.Kind.INVALID_ARGUMENT, "Could not open '" + shownName + "': Is a directory");
        }
        try {
            return FileDriver.openChannel(path, readOnly);
        } catch (NoSuchFileException e) {
            throw new BlockException(BlockException.Kind.NOT_FOUND, "Could not open '" + shownName + "': No such file or directory", e);
        } catch (AccessDeniedException e) {
            throw new BlockException(BlockException.Kind.PERMISSION, "Could not open '" + shownName + "': Permission denied", e);
        } catch (IOException e) {
            throw new BlockException(BlockException.Kind.IO, "Could not open '" + shownName + "': " + e.getMessage(), e);
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
