package dev.strata.harness.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import javax.xml.parsers.DocumentBuilderFactory;
import org.junit.jupiter.api.Test;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.NodeList;

class SvgReportTest {

    /** A two-second run on a simulated clock: 20 guest samples, a stream with its phases and progress, a mirror still running. */
    static Timeline.Data sampleRun() {
        AtomicLong now = new AtomicLong(1_000_000);
        Timeline t = new Timeline(100, now::get);
        t.title("Lab 1 <merge> & verify");
        t.chainBefore(List.of("/x/file-E.img", "/x/file-D.img", "/x/file-C.img", "/x/file-B.img", "/x/file-A.img"));
        for (int i = 0; i < 20; i++) {
            now.addAndGet(100);
            t.sample("virtio0-randrw", 5000 - (i % 7) * 400, 80 + (i % 5) * 30);
            if (i == 4) {
                t.jobStarted("virtio0", "stream");
                t.jobPhase("virtio0", "running");
            }
            if (i > 4 && i < 14) {
                t.jobProgress("virtio0", (i - 4) * 10L << 20, 90L << 20);
            }
            if (i == 14) {
                t.jobPhase("virtio0", "waiting");
                t.jobPhase("virtio0", "pending");
                t.event("BLOCK_JOB_COMPLETED", "virtio0");
                t.jobPhase("virtio0", "concluded");
                t.jobEnded("virtio0", "completed");
            }
            if (i == 16) {
                t.jobStarted("m0", "mirror");
                t.jobPhase("m0", "running");
            }
        }
        t.chainAfter(List.of("/x/file-E.img", "/x/file-A.img"));
        return t.snapshot();
    }

    private static Document parse(String svg) throws Exception {
        return DocumentBuilderFactory.newInstance().newDocumentBuilder()
                .parse(new ByteArrayInputStream(svg.getBytes(StandardCharsets.UTF_8)));
    }

    private static List<Element> byClass(Document doc, String tag, String cls) {
        NodeList l = doc.getElementsByTagName(tag);
        List<Element> out = new java.util.ArrayList<>();
        for (int i = 0; i < l.getLength(); i++) {
            Element e = (Element) l.item(i);
            if (cls.equals(e.getAttribute("class"))) {
                out.add(e);
            }
        }
        return out;
    }

    @Test
    void rendersWellFormedSvgWithEveryPart() throws Exception {
        String svg = SvgReport.render(sampleRun());
        Document doc = parse(svg);
        assertEquals("svg", doc.getDocumentElement().getTagName());
        assertTrue(svg.contains("Lab 1 &lt;merge&gt; &amp; verify"));
        assertTrue(svg.contains("virtio0 — completed, 90.0 of 90.0 MiB"), svg);
        assertTrue(svg.contains("m0 — running"));
        assertTrue(svg.contains(">file-A.img<"));
        assertTrue(svg.contains("guest sampled every 100 ms, every sample drawn"));
        // one IOPS and one p99 line of 20 points each
        List<Element> series = byClass(doc, "polyline", "series");
        assertEquals(2, series.size());
        assertEquals(20, series.get(0).getAttribute("points").split(" ").length);
        // the stream's progress line: its start, 9 samples and the last one again
        List<Element> progress = byClass(doc, "polyline", "progress");
        assertEquals(2, progress.size());
        assertEquals(11, progress.get(0).getAttribute("points").split(" ").length);
        List<String> phases = byClass(doc, "rect", "phase").stream().map(e -> e.getAttribute("data-status")).toList();
        assertEquals(List.of("created", "running", "waiting", "pending", "concluded", "created", "running"), phases);
        assertEquals(1, byClass(doc, "line", "event").size());
    }

    @Test
    void aTenMinuteSoakIsDrawnAsAveragesAndSaysSo() throws Exception {
        AtomicLong now = new AtomicLong(0);
        Timeline t = new Timeline(100, now::get);
        t.jobStarted("virtio0", "mirror");
        for (int i = 0; i < 6000; i++) {
            now.addAndGet(100);
            t.sample("virtio0-randrw", 1000 + i % 10, 50);
            t.jobProgress("virtio0", i, 6000);
        }
        String svg = SvgReport.render(t.snapshot());
        Document doc = parse(svg);
        long bucket = 700;  // 600 s over 880 px: 682 ms a pixel, rounded up to whole samples
        assertTrue(svg.contains("guest sampled every 100 ms; drawn as " + bucket + " ms averages"), svg.substring(0, 800));
        for (Element line : byClass(doc, "polyline", "series")) {
            int points = line.getAttribute("points").split(" ").length;
            assertTrue(points <= SvgReport.MAX_POINTS && points >= 800, "points: " + points);
        }
        int progressPoints = byClass(doc, "polyline", "progress").get(0).getAttribute("points").split(" ").length;
        assertTrue(progressPoints <= SvgReport.MAX_POINTS + 2, "progress points: " + progressPoints);
        // averaging keeps the level: 1000..1009 averages to about 1004.5
        String first = byClass(doc, "polyline", "series").get(0).getAttribute("points").split(" ")[3];
        double y = Double.parseDouble(first.split(",")[1]);
        assertTrue(y < 80 + 3, "averaged IOPS stays near the top of the chart: y=" + y);
    }

    /** Both ends of a migration: each machine's line, events strip and job say whose they are. */
    @Test
    void twoMachinesAreLabelledEndByEnd() throws Exception {
        AtomicLong now = new AtomicLong(0);
        Timeline t = new Timeline(100, now::get);
        t.machineStarted("src");
        t.machineStarted("dst");
        t.jobStarted("src", "virtio0", "mirror");
        t.jobStarted("dst", "virtio0", "backup");   // the same id on the other machine is another job
        for (int i = 0; i < 10; i++) {
            now.addAndGet(100);
            t.sample("src", "virtio0-randrw", 4000, 300);
            t.sample("dst", "remote0 writes received", 1500, -1);
        }
        t.event("src", "BLOCK_JOB_READY", "virtio0");
        t.event("dst", "BLOCK_EXPORT_DELETED", "remote0");
        t.jobEnded("src", "virtio0", "completed");
        String svg = SvgReport.render(t.snapshot());
        Document doc = parse(svg);
        assertTrue(svg.contains("2 machines: src, dst"), svg.substring(0, 1200));
        List<String> series = byClass(doc, "polyline", "series").stream().map(e -> e.getAttribute("data-series")).toList();
        // both lines in the IOPS chart; the served writes have no latency, so the p99 chart has one line
        assertEquals(List.of("src virtio0-randrw", "dst remote0 writes received", "src virtio0-randrw"), series);
        List<String> strips = byClass(doc, "text", "machine").stream().map(Element::getTextContent).toList();
        assertEquals(List.of("src", "dst", "on src", "on dst"), strips);
        assertEquals(2, byClass(doc, "line", "event").size());
        assertTrue(svg.contains("virtio0 — completed") && svg.contains("virtio0 — running"), "two jobs called virtio0");
        assertTrue(svg.contains("backing chain after (src)"), "the chain drawn is the first machine's");
    }

    @Test
    void aRunWithOneMachineIsNotLabelled() throws Exception {
        String svg = SvgReport.render(sampleRun());
        assertTrue(!svg.contains("machines:") && byClass(parse(svg), "text", "machine").isEmpty());
    }

    @Test
    void emptyRunStillRenders() throws Exception {
        String svg = SvgReport.render(new Timeline().snapshot());
        assertTrue(svg.contains("no block jobs ran"));
        assertTrue(svg.contains("(not recorded)"));
        assertTrue(svg.contains("no guest samples"));
        parse(svg);
    }
}
