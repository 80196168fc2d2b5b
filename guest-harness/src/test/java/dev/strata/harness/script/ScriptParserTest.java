package dev.strata.harness.script;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

class ScriptParserTest {

    @Test
    void parsesEveryStepKind() {
        List<Step> steps = ScriptParser.parse("lab.strata", """
                # a comment
                img create -f qcow2 $DIR/file-A.img 64M
                fill file-A.img 0xaa 0 8M
                machine -drive file=$DIR/file-E.img,if=virtio,node-name=node-E -S
                guest drive=virtio0,rw=randrw,bs=4k,iodepth=8,verify=on

                sleep 1.5s
                hmp block_stream virtio0 file-A.img
                hmp! block_stream virtio0
                expect busy
                expect-not Backing
                qmp {"execute": "query-block-jobs"}
                wait job virtio0 30s
                wait event BLOCK_JOB_COMPLETED
                verify
                echo "done"
                report timeline.svg
                """);
        assertEquals(15, steps.size());
        assertInstanceOf(Step.Img.class, steps.get(0));
        Step.Fill fill = (Step.Fill) steps.get(1);
        assertEquals(0xaa, fill.pattern());
        assertEquals(8L << 20, fill.length());
        assertEquals(3, fill.line());
        assertEquals(Duration.ofMillis(1500), ((Step.Sleep) steps.get(4)).duration());
        assertTrue(((Step.Hmp) steps.get(6)).expectError());
        assertEquals(Duration.ofSeconds(30), ((Step.WaitJob) steps.get(10)).timeout());
        assertEquals("BLOCK_JOB_COMPLETED", ((Step.WaitEvent) steps.get(11)).event());
    }

    @Test
    void errorsNameTheLine() {
        ScriptException e = assertThrows(ScriptException.class, () -> ScriptParser.parse("x.strata", "echo hi\n\nfrobnicate now\n"));
        assertEquals(3, e.line());
        assertTrue(e.getMessage().startsWith("x.strata:3: unknown step 'frobnicate'"), e.getMessage());
        assertEquals(1, assertThrows(ScriptException.class, () -> ScriptParser.parse("s", "sleep soon")).line());
        assertThrows(ScriptException.class, () -> ScriptParser.parse("s", "fill a.img 0x1ff 0 1M"));
        assertThrows(ScriptException.class, () -> ScriptParser.parse("s", "wait forever"));
        assertThrows(ScriptException.class, () -> ScriptParser.parse("s", "expect ([a"));
        assertThrows(ScriptException.class, () -> ScriptParser.parse("s", "img create \"unterminated"));
        assertThrows(ScriptException.class, () -> ScriptParser.parse("s", "hmp"));
    }

    @Test
    void machinesHaveNamesAndStepsAreAddressedToThem() {
        List<Step> steps = ScriptParser.parse("lab.strata", """
                machine -drive file=a.img,if=virtio
                machine dst -drive file=b.img,if=none,id=d0
                on dst: hmp nbd_server_add -w d0
                on dst: qmp! {"execute": "nbd-server-stop"}
                on dst:   wait event BLOCK_EXPORT_DELETED 5s
                on dst: guest drive=d0,rw=randread
                on dst: verify
                """);
        Step.Machine first = (Step.Machine) steps.get(0);
        assertEquals(null, first.name());
        assertEquals("-drive", first.args().get(0));
        Step.Machine dst = (Step.Machine) steps.get(1);
        assertEquals("dst", dst.name());
        assertEquals(List.of("-drive", "file=b.img,if=none,id=d0"), dst.args());
        Step.On add = (Step.On) steps.get(2);
        assertEquals("dst", add.machine());
        assertEquals(new Step.Hmp(3, "nbd_server_add -w d0", false), add.step());
        assertTrue(((Step.Qmp) ((Step.On) steps.get(3)).step()).expectError());
        assertEquals(Duration.ofSeconds(5), ((Step.WaitEvent) ((Step.On) steps.get(4)).step()).timeout());
        assertInstanceOf(Step.Verify.class, ((Step.On) steps.get(6)).step());
    }

    @Test
    void addressingErrorsSayWhatIsAllowed() {
        assertTrue(assertThrows(ScriptException.class, () -> ScriptParser.parse("s", "on dst hmp info block")).getMessage()
                .contains("usage: on NAME: STEP"));
        assertTrue(assertThrows(ScriptException.class, () -> ScriptParser.parse("s", "on dst: img info x.img")).getMessage()
                .contains("'img' does not run on a machine"));
        assertTrue(assertThrows(ScriptException.class, () -> ScriptParser.parse("s", "on dst:")).getMessage()
                .contains("needs a step"));
        assertTrue(assertThrows(ScriptException.class, () -> ScriptParser.parse("s", "on dst: frobnicate")).getMessage()
                .contains("'frobnicate' does not run on a machine"));
        assertTrue(assertThrows(ScriptException.class, () -> ScriptParser.parse("s", "machine 9x -S")).getMessage()
                .contains("bad machine name '9x'"));
        assertEquals(2, assertThrows(ScriptException.class, () -> ScriptParser.parse("s", "echo\non dst: hmp")).line());
    }

    @Test
    void hmpErrorDetectionFollowsQemusShapes() {
        assertTrue(ScenarioRunner.looksLikeError("Error: Node 'virtio0' is busy: block device is in use by block job: stream\n"));
        assertTrue(ScenarioRunner.looksLikeError("invalid size\nTry \"help block_job_set_speed\" for more information\n"));
        assertTrue(ScenarioRunner.looksLikeError("'commit' error for 'virtio0': Operation not supported\n"));
        assertTrue(!ScenarioRunner.looksLikeError("Streaming device virtio0: Completed 0 of 1 bytes, speed limit 0 bytes/s\n"));
    }
}
