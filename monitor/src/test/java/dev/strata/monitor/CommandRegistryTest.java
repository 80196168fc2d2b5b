package dev.strata.monitor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.strata.blockdrv.BlockException;
import dev.strata.jobs.JobException;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

@Timeout(20)
class CommandRegistryTest {

    @TempDir
    Path dir;

    private static ObjectNode json(String s) throws Exception {
        return (ObjectNode) Json.MAPPER.readTree(s);
    }

    private static String error(Monitor m, String cmd, String args) throws Exception {
        CommandContext ctx = new CommandContext(m.machine(), m.registry(), m.events(), new StringBuilder());
        CommandException e = assertThrows(CommandException.class,
                () -> m.registry().invoke(cmd, args == null ? null : json(args), ctx));
        return e.errorClass() + ": " + e.desc();
    }

    private Monitor withTestCommand() {
        Monitor m = new TestMachine(dir).monitor();
        m.registry().register(Command.qmp("x-test")
                .params(Param.str("device"), Param.optInt("speed"), Param.enumOf("sync", "top", "full"), Param.optBool("force"))
                .help("test command")
                .handler((ctx, a) -> {
                    ObjectNode o = Json.object();
                    o.put("device", a.str("device"));
                    o.put("speed", a.integer("speed", 0));
                    o.put("sync", a.str("sync"));
                    o.put("force", a.bool("force", false));
                    return o;
                })
                .hmp("x_test", "force:-f,device:B,sync:s,speed:o?", "[-f] device sync [speed]")
                .hmpFormat((ctx, a, r) -> ctx.println(r.toString()))
                .build());
        return m;
    }

    @Test
    void validationMessagesAreQemus() throws Exception {
        Monitor m = withTestCommand();
        assertEquals("GenericError: Parameter 'device' is missing", error(m, "x-test", "{}"));
        assertEquals("GenericError: Parameter 'sync' is missing", error(m, "x-test", "{\"device\": \"d\"}"));
        assertEquals("GenericError: Invalid parameter type for 'speed', expected: integer",
                error(m, "x-test", "{\"device\": \"d\", \"speed\": \"1\", \"sync\": \"top\"}"));
        assertEquals("GenericError: Invalid parameter type for 'speed', expected: integer",
                error(m, "x-test", "{\"device\": \"d\", \"speed\": 1.5, \"sync\": \"top\"}"));
        assertEquals("GenericError: Parameter 'sync' does not accept value 'bogus'",
                error(m, "x-test", "{\"device\": \"d\", \"sync\": \"bogus\"}"));
        assertEquals("GenericError: Parameter 'bogus' is unexpected",
                error(m, "x-test", "{\"device\": \"d\", \"sync\": \"top\", \"bogus\": 1}"));
        assertEquals("GenericError: Invalid parameter type for 'device', expected: string", error(m, "x-test", "{\"device\": null}"));
        assertEquals("GenericError: Invalid parameter type for 'force', expected: boolean",
                error(m, "x-test", "{\"device\": \"d\", \"sync\": \"top\", \"force\": 1}"));
        assertEquals("CommandNotFound: The command nosuch-command has not been found", error(m, "nosuch-command", null));
        assertEquals("GenericError: Parameter 'null' does not accept value 'bogus'",
                error(m, "qmp_capabilities", "{\"enable\": [\"bogus\"]}"));
    }

    @Test
    void hmpAndQmpShareTheHandler() throws Exception {
        Monitor m = withTestCommand();
        CommandContext ctx = new CommandContext(m.machine(), m.registry(), m.events(), new StringBuilder());
        JsonNode r = m.registry().invoke("x-test", json("{\"device\": \"d\", \"sync\": \"full\", \"speed\": 5}"), ctx);
        assertEquals("{\"device\":\"d\",\"speed\":5,\"sync\":\"full\",\"force\":false}", r.toString());
        assertEquals("{\"device\":\"d\",\"speed\":1024,\"sync\":\"top\",\"force\":true}\n", m.hmp().executeNow("x_test -f d top 1k"));
        assertEquals("Error: Parameter 'sync' does not accept value 'bogus'\n", m.hmp().executeNow("x_test d bogus"));
        assertEquals("x_test: string expected\nTry \"help x_test\" for more information\n", m.hmp().executeNow("x_test d"));
        assertEquals("x_test [-f] device sync [speed] -- test command\n", m.hmp().executeNow("help x_test"));
    }

    @Test
    void registrationFromAnotherModule() {
        Monitor m = withTestCommand();
        Command dup = Command.qmp("x-test").handler((c, a) -> null).build();
        assertThrows(IllegalStateException.class, () -> m.registry().register(dup));
        Command takenHmpName = Command.qmp("x-test-jobs").help("jobs").handler((c, a) -> Json.array().add(1))
                .hmp("info block-jobs", "", "").hmpFormat((c, a, r) -> c.println("one job")).build();
        assertThrows(IllegalStateException.class, () -> m.registry().register(takenHmpName));
        assertEquals("No active jobs\n", m.hmp().executeNow("info block-jobs"), "the job commands' own info block-jobs stays");
        m.registry().addCompletionSource(CompletionKind.JOB, mm -> java.util.List.of("job1"));
        assertTrue(m.registry().candidates(CompletionKind.JOB, m.machine()).contains("job1"));
    }

    @Test
    void handlerBugsBecomeErrorsNotCrashes() throws Exception {
        Monitor m = new TestMachine(dir).monitor();
        m.registry().register(Command.qmp("x-bug").handler((c, a) -> {
            throw new IllegalStateException("boom");
        }).hmp("x_bug", "", "").build());
        assertTrue(error(m, "x-bug", null).startsWith("GenericError: Internal error in 'x-bug'"));
        assertTrue(m.hmp().executeNow("x_bug").startsWith("Error: Internal error in 'x-bug'"));
    }

    @Test
    void blockAndJobFailuresMapToQmpClassesInTheRegistry() throws Exception {
        Monitor m = new TestMachine(dir).monitor();
        m.registry().register(Command.qmp("x-fail").params(Param.str("kind")).help("test command").handler((ctx, a) -> {
            String kind = a.str("kind");
            if (kind.equals("block")) {
                throw new BlockException(BlockException.Kind.NOT_FOUND, "Could not open 'x': No such file or directory");
            }
            throw new JobException(JobException.Kind.valueOf(kind), "refused: " + kind);
        }).hmp("x_fail", "kind:s", "kind").hmpFormat((ctx, a, r) -> ctx.println("done")).build());
        assertEquals("GenericError: Could not open 'x': No such file or directory", error(m, "x-fail", "{\"kind\": \"block\"}"));
        assertEquals("DeviceNotActive: refused: BLOCK_JOB_NOT_FOUND", error(m, "x-fail", "{\"kind\": \"BLOCK_JOB_NOT_FOUND\"}"));
        assertEquals("DeviceNotFound: refused: DEVICE_NOT_FOUND", error(m, "x-fail", "{\"kind\": \"DEVICE_NOT_FOUND\"}"));
        for (String generic : new String[] {"GENERIC", "INVALID_STATE", "BUSY", "JOB_NOT_FOUND"}) {
            assertEquals("GenericError: refused: " + generic, error(m, "x-fail", "{\"kind\": \"" + generic + "\"}"));
            assertEquals("Error: refused: " + generic + "\n", m.hmp().executeNow("x_fail " + generic));
        }
        assertEquals("Error: refused: BLOCK_JOB_NOT_FOUND\n", m.hmp().executeNow("x_fail BLOCK_JOB_NOT_FOUND"));
    }
}
