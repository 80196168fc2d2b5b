package dev.strata.harness.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import javax.xml.parsers.DocumentBuilderFactory;
import org.junit.jupiter.api.Test;
import org.w3c.dom.Document;

class SvgReportTest {

    static Timeline.Data sampleRun() throws Exception {
        Timeline t = new Timeline();
        t.title("Lab 1 <merge> & verify");
        t.chainBefore(List.of("/x/file-E.img", "/x/file-D.img", "/x/file-C.img", "/x/file-B.img", "/x/file-A.img"));
        for (int i = 0; i < 5; i++) {
            t.sample("virtio0-randrw", 1000 + i * 100, 80 + i);
        }
        t.jobStarted("virtio0", "stream");
        t.jobPhase("virtio0", "running");
        t.jobProgress("virtio0", 0, 100);
        t.jobProgress("virtio0", 50, 100);
        t.jobProgress("virtio0", 100, 100);
        Thread.sleep(5);
        t.jobPhase("virtio0", "concluded");
        t.event("BLOCK_JOB_COMPLETED", "virtio0");
        t.jobEnded("virtio0", "completed");
        t.jobStarted("m0", "mirror");
        t.chainAfter(List.of("/x/file-E.img", "/x/file-A.img"));
        return t.snapshot();
    }

    @Test
    void rendersWellFormedSvgWithEveryPart() throws Exception {
        String svg = SvgReport.render(sampleRun());
        Document doc = DocumentBuilderFactory.newInstance().newDocumentBuilder()
                .parse(new ByteArrayInputStream(svg.getBytes(StandardCharsets.UTF_8)));
        assertEquals("svg", doc.getDocumentElement().getTagName());
        assertTrue(svg.contains("Lab 1 &lt;merge&gt; &amp; verify"));
        assertTrue(svg.contains("virtio0 — completed"));
        assertTrue(svg.contains("m0 — running"));
        assertTrue(svg.contains(">file-A.img<"));
        assertEquals(2, doc.getElementsByTagName("g").getLength() - 1 - 2, "two chain groups besides charts and jobs");
    }

    @Test
    void emptyRunStillRenders() throws Exception {
        String svg = SvgReport.render(new Timeline().snapshot());
        assertTrue(svg.contains("no block jobs ran"));
        assertTrue(svg.contains("(not recorded)"));
        DocumentBuilderFactory.newInstance().newDocumentBuilder()
                .parse(new ByteArrayInputStream(svg.getBytes(StandardCharsets.UTF_8)));
    }
}
