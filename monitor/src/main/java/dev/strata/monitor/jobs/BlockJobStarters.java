package dev.strata.monitor.jobs;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.strata.blockdrv.BlockException;
import dev.strata.blockdrv.BlockGraph;
import dev.strata.blockdrv.BlockNode;
import dev.strata.blockdrv.RequestPolicy;
import dev.strata.blockdrv.error.OnError;
import dev.strata.jobs.JobException;
import dev.strata.jobs.JobManager;
import dev.strata.jobs.JobTargets;
import dev.strata.jobs.backup.Backup;
import dev.strata.jobs.bitmap.NodeBitmaps;
import dev.strata.jobs.bitmap.NodeDirtyBitmap;
import dev.strata.jobs.commit.Commit;
import dev.strata.jobs.commit.CommitRequest;
import dev.strata.jobs.mirror.Mirror;
import dev.strata.jobs.mirror.MirrorRequest;
import dev.strata.monitor.Args;
import dev.strata.monitor.Command;
import dev.strata.monitor.CommandRegistry;
import dev.strata.monitor.CompletionKind;
import dev.strata.monitor.Json;
import dev.strata.monitor.Param;

/**
 * {@code block-commit}, {@code drive-mirror} / {@code blockdev-mirror} / HMP {@code drive_mirror},
 * {@code drive-backup} / {@code blockdev-backup} / HMP {@code drive_backup}. Handlers run on
 * monitor threads.
 */
final class BlockJobStarters {

    private static final String[] ON_ERROR = StreamCommands.ON_ERROR;
    private static final String[] SYNC = {"top", "full", "none", "incremental", "bitmap"};

    private BlockJobStarters() {
    }

    static void register(CommandRegistry r, JobManager jobs) {
        r.register(Command.qmp("block-commit")
                .params(Param.optStr("job-id"), Param.str("device"), Param.optStr("base-node"), Param.optStr("base"),
                        Param.optStr("top-node"), Param.optStr("top"), Param.optStr("backing-file"), Param.optInt("speed"),
                        Param.optEnum("on-error", ON_ERROR), Param.optStr("filter-node-name"),
                        Param.optBool("auto-finalize"), Param.optBool("auto-dismiss"))
                .help("commit the data of a part of a backing chain into a lower image")
                .handler((ctx, a) -> {
                    Commit.start(jobs, ctx.machine().graph(), new CommitRequest(a.str("job-id", null), a.str("device"),
                            a.str("base-node", null), a.str("base", null), a.str("top-node", null), a.str("top", null),
                            a.str("backing-file", null), a.integer("speed", 0), onError(a, "on-error"),
                            a.bool("auto-finalize", true), a.bool("auto-dismiss", true)));
                    return null;
                })
                .build());

        r.register(Command.qmp("drive-mirror")
                .params(Param.optStr("job-id"), Param.str("device"), Param.str("target"), Param.optStr("format"),
                        Param.optStr("node-name"), Param.optStr("replaces"), Param.enumOf("sync", SYNC),
                        Param.optEnum("mode", "existing", "absolute-paths"), Param.optInt("speed"), Param.optInt("granularity"),
                        Param.optInt("buf-size"), Param.optEnum("on-source-error", ON_ERROR),
                        Param.optEnum("on-target-error", ON_ERROR), Param.optBool("unmap"),
                        Param.optEnum("copy-mode", "background", "write-blocking"),
                        Param.optBool("auto-finalize"), Param.optBool("auto-dismiss"))
                .help("start mirroring a drive to a new or existing image file")
                .handler((ctx, a) -> {
                    driveMirror(jobs, ctx.machine().graph(), a);
                    return null;
                })
                .hmp("drive_mirror", "reuse:-n,full:-f,device:B,target:s,format:s?", "[-n] [-f] device target [format]")
                .hmpArgs(a -> {
                    ObjectNode q = Json.object();
                    q.put("device", a.str("device"));
                    q.put("target", a.str("target"));
                    if (a.has("format")) {
                        q.put("format", a.str("format"));
                    }
                    q.put("sync", a.bool("full", false) ? "full" : "top");
                    q.put("mode", a.bool("reuse", false) ? "existing" : "absolute-paths");
                    q.put("unmap", true);
                    return q;
                })
                .complete("target", CompletionKind.FILE)
                .build());

        r.register(Command.qmp("blockdev-mirror")
                .params(Param.optStr("job-id"), Param.str("device"), Param.str("target"), Param.optStr("replaces"),
                        Param.enumOf("sync", SYNC), Param.optInt("speed"), Param.optInt("granularity"), Param.optInt("buf-size"),
                        Param.optEnum("on-source-error", ON_ERROR), Param.optEnum("on-target-error", ON_ERROR),
                        Param.optStr("filter-node-name"), Param.optEnum("copy-mode", "background", "write-blocking"),
                        Param.optBool("auto-finalize"), Param.optBool("auto-dismiss"))
                .help("start mirroring a drive to an existing node")
                .handler((ctx, a) -> {
                    Mirror.start(jobs, ctx.machine().graph(), mirrorRequest(a, a.str("target"), false));
                    return null;
                })
                .build());

        r.register(Command.qmp("drive-backup")
                .params(Param.optStr("job-id"), Param.str("device"), Param.enumOf("sync", SYNC), Param.optInt("speed"),
                        Param.optStr("bitmap"), Param.optEnum("bitmap-mode", "on-success", "never", "always"),
                        Param.optBool("compress"), Param.optEnum("on-source-error", ON_ERROR),
                        Param.optEnum("on-target-error", ON_ERROR), Param.optBool("auto-finalize"), Param.optBool("auto-dismiss"),
                        Param.optStr("filter-node-name"), Param.optAny("x-perf"), Param.str("target"), Param.optStr("format"),
                        Param.optEnum("mode", "existing", "absolute-paths"))
                .help("start a point-in-time copy of a drive to a new or existing image file")
                .handler((ctx, a) -> {
                    driveBackup(jobs, ctx.machine().graph(), a);
                    return null;
                })
                .hmp("drive_backup", "reuse:-n,full:-f,compress:-c,device:B,target:s,format:s?",
                        "[-n] [-f] [-c] device target [format]")
                .hmpArgs(a -> {
                    ObjectNode q = Json.object();
                    q.put("device", a.str("device"));
                    q.put("target", a.str("target"));
                    if (a.has("format")) {
                        q.put("format", a.str("format"));
                    }
                    q.put("sync", a.bool("full", false) ? "full" : "top");
                    q.put("mode", a.bool("reuse", false) ? "existing" : "absolute-paths");
                    q.put("compress", a.bool("compress", false));
                    return q;
                })
                .complete("target", CompletionKind.FILE)
                .build());

        r.register(Command.qmp("blockdev-backup")
                .params(Param.optStr("job-id"), Param.str("device"), Param.enumOf("sync", SYNC), Param.optInt("speed"),
                        Param.optStr("bitmap"), Param.optEnum("bitmap-mode", "on-success", "never", "always"),
                        Param.optBool("compress"), Param.optEnum("on-source-error", ON_ERROR),
                        Param.optEnum("on-target-error", ON_ERROR), Param.optBool("auto-finalize"), Param.optBool("auto-dismiss"),
                        Param.optStr("filter-node-name"), Param.optAny("x-perf"), Param.str("target"))
                .help("start a point-in-time copy of a drive to an existing node")
                .handler((ctx, a) -> {
                    BlockGraph g = ctx.machine().graph();
                    // QEMU's blockdev_backup_prepare: both nodes first, then do_backup_common
                    Backup.lookupSource(g, a.str("device"));
                    BlockNode target = g.node(a.str("target"));
                    if (target == null) {
                        throw JobException.generic("Cannot find device='" + a.str("target") + "' nor node-name='" + a.str("target") + "'");
                    }
                    startBackup(jobs, g, a, target, () -> { });
                    return null;
                })
                .build());

        HmpCommit.register(r);
    }

    private static OnError onError(Args a, String name) {
        return OnError.parse(a.str(name, "report"), name);
    }

    /** @param freshTarget drive-mirror created the target just now (it reads zeros where the job writes nothing) */
    private static MirrorRequest mirrorRequest(Args a, String targetNode, boolean freshTarget) {
        return new MirrorRequest(a.str("job-id", null), a.str("device"), targetNode, a.str("sync"), a.integer("speed", 0),
                a.integer("granularity", 0), onError(a, "on-source-error"), onError(a, "on-target-error"),
                a.bool("auto-finalize", true), a.bool("auto-dismiss", true),
                a.str("copy-mode", "background").equals("write-blocking"), a.str("replaces", null), a.integer("buf-size", 0),
                a.bool("unmap", true), freshTarget);
    }

    /** QEMU's {@code qmp_drive_mirror}: checks the source, creates or opens the target, starts the job. */
    private static void driveMirror(JobManager jobs, BlockGraph g, Args a) {
        BlockNode source = Mirror.checkSource(g, a.str("device"));
        String sync = a.str("sync");
        if (sync.equals("top") && source.backing() == null) {
            sync = "full";
        }
        if (a.has("replaces") && !a.has("node-name")) {
            throw JobException.generic("a node-name must be provided when replacing a named node of the graph");
        }
        boolean existing = a.str("mode", "absolute-paths").equals("existing");
        String format = a.str("format", existing ? null : source.formatName());
        BlockNode backing = switch (sync) {
            case "top" -> source.backing();
            case "none" -> source;
            default -> null;
        };
        BlockNode target = openTarget(g, a.str("target"), format, source, backing, existing, a.str("node-name", null));
        try {
            ObjectNode q = a.toJson();
            q.put("sync", sync);
            Mirror.start(jobs, g, mirrorRequest(Args.trusted(q), target.nodeName(), !existing), true);
        } catch (RuntimeException e) {
            g.close(target);
            throw e;
        }
    }

    /** drive-mirror's and drive-backup's new node: the source's size, and its cache options as QEMU's bs->open_flags. */
    private static BlockNode openTarget(BlockGraph g, String file, String format, BlockNode source, BlockNode backing,
                                        boolean existing, String nodeName) {
        boolean hostFile = dev.strata.blockdrv.DriverRegistry.standard().protocolFor(file).name().equals("file");
        if (existing && hostFile && !java.nio.file.Files.exists(java.nio.file.Path.of(file))) {
            throw JobException.generic("Could not open '" + file + "': No such file or directory");
        }
        if (existing && format == null) {
            format = probe(g, file);
        }
        try {
            return JobTargets.createAndOpen(g, file, format, source.size(), backing, existing, nodeName, source.cache());
        } catch (BlockException e) {
            throw JobException.generic(e.getMessage());
        }
    }

    private static String probe(BlockGraph g, String file) {
        BlockNode n = g.open(dev.strata.blockdrv.BlockOptions.empty().with("file", file).with("read-only", "on")
                .with("backing", ""));
        String f = n.formatName();
        g.close(n);
        return f;
    }

    /** The first checks of QEMU's {@code do_backup_common}, once source and target are known. */
    private static void checkBackupOptions(Args a) {
        String sync = a.str("sync");
        if ((sync.equals("incremental") || sync.equals("bitmap")) && !a.has("bitmap")) {
            throw JobException.generic("must provide a valid bitmap name for '" + sync + "' sync mode");
        }
        if (sync.equals("incremental") && a.has("bitmap-mode") && !a.str("bitmap-mode").equals("on-success")) {
            throw JobException.generic("Bitmap sync mode must be 'on-success' when using sync mode 'incremental'");
        }
    }

    /** The end of {@code do_backup_common}: a bitmap mode needs a bitmap. */
    private static void checkBitmapModeNeedsBitmap(Args a) {
        if (!a.has("bitmap") && a.has("bitmap-mode")) {
            throw JobException.generic("Cannot specify bitmap sync mode without a bitmap");
        }
    }

    /** The source's bitmap named by {@code bitmap}, checked as QEMU's backup_job_create checks it; null without one. */
    private static NodeDirtyBitmap backupBitmap(BlockNode source, Args a) {
        if (!a.has("bitmap")) {
            return null;
        }
        String name = a.str("bitmap");
        NodeDirtyBitmap b = NodeBitmaps.find(source, name);
        if (b == null) {
            throw JobException.generic("Bitmap '" + name + "' could not be found");
        }
        String sync = a.str("sync");
        String mode = sync.equals("incremental") ? "on-success" : a.str("bitmap-mode", null);
        if (mode == null) {
            throw JobException.generic("Bitmap sync mode must be given when providing a bitmap");
        }
        if (b.isBusy()) {
            throw JobException.generic("Bitmap '" + name + "' is currently in use by another operation and cannot be used");
        }
        if (sync.equals("none")) {
            throw JobException.generic("sync mode 'none' does not produce meaningful bitmap outputs");
        }
        if (mode.equals("never") && !sync.equals("bitmap")) {
            throw JobException.generic("Bitmap sync mode 'never' has no meaningful effect when combined with sync mode '" + sync + "'");
        }
        if (mode.equals("always")) {
            throw JobException.generic("Bitmap sync mode 'always' is not supported by Strata");
        }
        if (!sync.equals("incremental") && !sync.equals("bitmap")) {
            throw JobException.generic("A bitmap with sync mode '" + sync + "' is not supported by Strata (use 'incremental' or 'bitmap')");
        }
        return b;
    }

    /** QEMU's {@code qmp_drive_backup}: the target gets the source's backing file for {@code sync=top}. */
    private static void driveBackup(JobManager jobs, BlockGraph g, Args a) {
        // QEMU's drive_backup_prepare: the source and its blockers, the target image, and only
        // then the options (do_backup_common), with the target already created
        BlockNode source = Backup.checkSource(g, a.str("device"));
        String sync = a.str("sync");
        if (sync.equals("top") && source.backing() == null) {
            sync = "full";
        }
        boolean existing = a.str("mode", "absolute-paths").equals("existing");
        String format = a.str("format", existing ? null : source.formatName());
        BlockNode backing = sync.equals("top") ? source.backing() : sync.equals("none") ? source : null;
        BlockNode target = openTarget(g, a.str("target"), format, source, backing, existing, null);
        // QEMU 7.2 opens a drive-backup target with discard=unmap,detect-zeroes=unmap (info block -n shows it)
        target.setPolicy(new RequestPolicy(RequestPolicy.DetectZeroes.UNMAP, true, false));
        try {
            ObjectNode q = a.toJson();
            q.put("sync", sync);
            startBackup(jobs, g, Args.trusted(q), target, () -> g.close(target));
        } catch (RuntimeException e) {
            g.close(target);
            throw e;
        }
    }

    private static void startBackup(JobManager jobs, BlockGraph g, Args a, BlockNode target, Runnable onClean) {
        checkBackupOptions(a);
        NodeDirtyBitmap bitmap = backupBitmap(Backup.lookupSource(g, a.str("device")), a);
        checkBitmapModeNeedsBitmap(a);
        Backup.start(jobs, g, a.str("job-id", null), a.str("device"), target, a.str("sync"), a.integer("speed", 0),
                onError(a, "on-source-error"), onError(a, "on-target-error"), a.bool("auto-finalize", true),
                a.bool("auto-dismiss", true), onClean, bitmap, a.str("bitmap-mode", "on-success").equals("never"),
                a.bool("compress", false));
    }
}
