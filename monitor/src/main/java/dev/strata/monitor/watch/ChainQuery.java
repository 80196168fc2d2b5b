package dev.strata.monitor.watch;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.strata.blockdrv.BlockBackend;
import dev.strata.blockdrv.BlockGraph;
import dev.strata.blockdrv.BlockNode;
import dev.strata.blockdrv.BlockStatus;
import dev.strata.blockdrv.Chains;
import dev.strata.jobs.BlockJobInfo;
import dev.strata.jobs.Job;
import dev.strata.jobs.JobManager;
import dev.strata.monitor.CommandException;
import dev.strata.monitor.Json;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code x-strata-query-chain}: each drive's backing chain, base first, with the seed's letters
 * (the first look names the base {@code A}, then {@code B}, ...; a layer keeps its letter, see
 * {@link ChainLabels}), and the block jobs working on it. A job names the
 * letters of the layers it works on ({@code layers}) and, for mirror and backup, the target beside
 * the chain. Reads the graph without draining it: a chain changing under a running job is shown as
 * it is at that moment, and a layer whose allocation cannot be read shows {@code allocated: -1}.
 *
 * <p>Stateless; any monitor thread.
 */
final class ChainQuery {

    private ChainQuery() {
    }

    static ArrayNode query(BlockGraph graph, String device, JobManager jobs, ChainLabels labels) {
        List<BlockBackend> backends = new ArrayList<>();
        for (BlockBackend b : graph.backends()) {
            if (device == null || device.equals(b.name())) {
                backends.add(b);
            }
        }
        if (device != null && backends.isEmpty()) {
            BlockNode node = graph.lookupOrNull(device);
            if (node == null) {
                throw CommandException.generic("Device '" + device + "' not found");
            }
        }
        ArrayNode out = Json.array();
        for (BlockBackend b : backends) {
            out.add(chain(b.name(), b.root(), jobs, labels));
        }
        if (device != null && backends.isEmpty()) {
            out.add(chain(null, graph.lookupOrNull(device), jobs, labels));
        }
        return out;
    }

    private static ObjectNode chain(String device, BlockNode top, JobManager jobs, ChainLabels names) {
        ObjectNode c = Json.object();
        if (device != null) {
            c.put("device", device);
        }
        List<BlockNode> baseFirst = new ArrayList<>(Chains.chain(top));
        java.util.Collections.reverse(baseFirst);
        Map<BlockNode, String> letters = new IdentityHashMap<>();
        String[] label = names.label(baseFirst);
        ArrayNode layers = c.putArray("layers");
        for (int i = 0; i < baseFirst.size(); i++) {
            BlockNode n = baseFirst.get(i);
            String letter = label[i];
            letters.put(n, letter);
            ObjectNode l = layers.addObject();
            l.put("label", letter);
            l.put("node-name", n.nodeName());
            l.put("filename", n.filename());
            l.put("format", n.formatName());
            l.put("virtual-size", n.size());
            l.put("allocated", allocatedBytes(n));
        }
        ArrayNode js = c.putArray("jobs");
        for (Job j : jobs.jobsNewestFirst()) {
            List<BlockNode> used = j.workingNodes();
            List<String> onChain = new ArrayList<>();
            List<BlockNode> beside = new ArrayList<>();
            for (BlockNode n : used) {
                String letter = letters.get(n);
                if (letter != null) {
                    onChain.add(letter);
                } else {
                    beside.add(n);
                }
            }
            if (onChain.isEmpty()) {
                continue;
            }
            onChain.sort(java.util.Comparator.comparingInt(l -> indexOf(layers, l)));
            BlockJobInfo info = j.blockJobInfo();
            ObjectNode o = js.addObject();
            o.put("id", j.id());
            o.put("type", j.type().qapiName());
            o.put("status", info.status().qapiName());
            o.put("offset", info.offset());
            o.put("len", info.len());
            o.put("percent", info.len() <= 0 ? 0 : (int) Math.min(100, info.offset() * 100 / info.len()));
            ArrayNode l = o.putArray("layers");
            onChain.forEach(l::add);
            if (!beside.isEmpty()) {
                ObjectNode t = o.putObject("target");
                t.put("node-name", beside.get(0).nodeName());
                t.put("filename", beside.get(0).filename());
            }
        }
        return c;
    }

    private static int indexOf(ArrayNode layers, String label) {
        for (int i = 0; i < layers.size(); i++) {
            if (layers.get(i).get("label").asText().equals(label)) {
                return i;
            }
        }
        return -1;
    }

    /** Bytes this layer answers for itself (data or zeros), or -1 when its map cannot be read now. */
    static long allocatedBytes(BlockNode n) {
        try {
            long size = n.size();
            long total = 0;
            for (long at = 0; at < size; ) {
                BlockStatus s = n.blockStatus(at, size - at);
                if (s.state().allocated()) {
                    total += s.length();
                }
                at = s.end();
            }
            return total;
        } catch (RuntimeException e) {
            return -1;  // closed or failing under a graph change: say so rather than fail the query
        }
    }
}
