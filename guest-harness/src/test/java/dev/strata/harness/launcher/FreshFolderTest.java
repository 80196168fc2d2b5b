package dev.strata.harness.launcher;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** Runs (and demos) started in the same second never share a folder (three lab 6 runs once wrote into one). */
@Timeout(60)
class FreshFolderTest {

    @TempDir
    Path dir;

    @Test
    void sameSecondGetsNumberedFolders() throws Exception {
        Path a = FreshFolder.create(dir, "06-when-things-go-wrong.strata");
        Path b = FreshFolder.create(dir, "06-when-things-go-wrong.strata");
        assertTrue(a.getFileName().toString().matches("06-when-things-go-wrong-\\d{8}-\\d{6}"), a.toString());
        if (a.getFileName().toString().equals(b.getFileName().toString().replaceFirst("-2$", ""))) {
            assertEquals(a.getFileName() + "-2", b.getFileName().toString());
        }
        assertTrue(Files.isDirectory(a) && Files.isDirectory(b) && !a.equals(b));
    }

    @Test
    void anEmptyNameIsJustTheTimestampAsTheDemoUsesIt() throws Exception {
        Path a = FreshFolder.create(dir, "");
        Path b = FreshFolder.create(dir, "");
        assertTrue(a.getFileName().toString().matches("\\d{8}-\\d{6}"), a.toString());
        assertTrue(b.getFileName().toString().matches("\\d{8}-\\d{6}(-2)?"), b.toString());
        assertTrue(!a.equals(b));
    }

    @Test
    void concurrentRunsAllGetTheirOwn() throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(8);
        try {
            List<Callable<Path>> calls = new ArrayList<>();
            for (int i = 0; i < 24; i++) {
                calls.add(() -> FreshFolder.create(dir, "lab.strata"));
            }
            Set<Path> seen = new HashSet<>();
            for (Future<Path> f : pool.invokeAll(calls)) {
                assertTrue(seen.add(f.get()), "two runs got " + f.get());
            }
            assertEquals(24, seen.size());
        } finally {
            pool.shutdownNow();
        }
    }
}
