package dev.strata.monitor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(10)
class SizesTest {

    /** As HMP parses a size argument: a bare number is MiB. */
    private static Sizes.Parsed size(String s, int start) {
        return Sizes.parse(s, start, Sizes.MIB);
    }

    @Test
    void sizesDefaultToMebibytes() {
        assertEquals(new Sizes.Parsed(1 << 20, 1), size("1", 0));
        assertEquals(1536, size("1.5k", 0).value());
        assertEquals(2048, size("2048b", 0).value());
        assertEquals(16L << 20, size("0x10", 0).value());
        assertEquals(4096, size("4K", 0).value());
        assertEquals(1024, size("1.k", 0).value());
        assertEquals(7L << 60, size("7E", 0).value());
        assertEquals(3L << 19, size("1.5", 0).value());
        assertEquals(0, size("0", 0).value());
        assertNull(size("-1", 0));
        assertNull(size("8E", 0));
        assertNull(size("99999999999999999999", 0));
        assertNull(size("x", 0));
        assertNull(size("1.5b", 0));
        assertNull(size("0x1k", 0));
        assertNull(size("1.5e3", 0));
        assertEquals(new Sizes.Parsed(1 << 20, 1), size("1x", 0), "garbage after the number is left for the caller");
    }

    @Test
    void bareNumbersInBytesForQemuIo() {
        assertEquals(new Sizes.Parsed(4096, 4), Sizes.parse("4096", 0, Sizes.BYTES));
        assertEquals(new Sizes.Parsed(65536, 4), Sizes.parse(" 64k", 0, Sizes.BYTES));
        assertNull(Sizes.parse("1.5", 0, Sizes.BYTES), "a fraction of a byte");
    }
}
