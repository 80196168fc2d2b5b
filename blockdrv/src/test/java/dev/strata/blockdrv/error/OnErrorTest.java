package dev.strata.blockdrv.error;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.strata.blockdrv.BlockException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(value = 60, unit = TimeUnit.SECONDS)
class OnErrorTest {

    @Test
    void driveOptionShouldParseQemuValuesAndRefuseEnospcForReads() {
        assertEquals(OnError.STOP, OnError.parseDriveOption("stop", true));
        assertEquals(OnError.ENOSPC, OnError.parseDriveOption("enospc", false));
        BlockException e = assertThrows(BlockException.class, () -> OnError.parseDriveOption("enospc", true));
        assertEquals("'enospc' invalid read error action", e.getMessage());
        e = assertThrows(BlockException.class, () -> OnError.parseDriveOption("bogus", false));
        assertEquals("'bogus' invalid write error action", e.getMessage());
    }

    @Test
    void driveOptionShouldRefuseAutoWhichJobsAccept() {
        BlockException e = assertThrows(BlockException.class, () -> OnError.parseDriveOption("auto", false));
        assertEquals("'auto' invalid write error action", e.getMessage());
        assertEquals(OnError.AUTO, OnError.parse("auto", "on-error"));
        assertEquals(OnError.ENOSPC, OnError.parse("enospc", "on-source-error"));
        e = assertThrows(BlockException.class, () -> OnError.parse("bogus", "on-target-error"));
        assertEquals("Parameter 'on-target-error' does not accept value 'bogus'", e.getMessage());
    }

    @Test
    void shouldMapKindsToActions() {
        assertEquals(ErrorAction.STOP, OnError.ENOSPC.actionFor(BlockException.Kind.NO_SPACE));
        assertEquals(ErrorAction.REPORT, OnError.ENOSPC.actionFor(BlockException.Kind.IO));
        assertEquals(ErrorAction.STOP, OnError.AUTO.actionFor(BlockException.Kind.NO_SPACE));
        assertEquals(ErrorAction.REPORT, OnError.AUTO.actionFor(BlockException.Kind.IO));
        assertEquals(ErrorAction.IGNORE, OnError.IGNORE.actionFor(BlockException.Kind.IO));
        assertEquals(ErrorAction.STOP, OnError.STOP.actionFor(BlockException.Kind.IO));
        assertEquals(ErrorAction.REPORT, OnError.REPORT.actionFor(BlockException.Kind.NO_SPACE));
    }

    @Test
    void qapiNamesShouldBeQemus() {
        assertEquals("enospc", OnError.DEFAULT_WERROR.qapiName());
        assertEquals("report", OnError.DEFAULT_RERROR.qapiName());
        assertEquals("nospace", IoStatus.NOSPACE.qapiName());
        assertEquals("write", IoOperation.WRITE.qapiName());
        assertEquals("ignore", ErrorAction.IGNORE.qapiName());
    }
}
