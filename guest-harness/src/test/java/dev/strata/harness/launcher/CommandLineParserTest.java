package dev.strata.harness.launcher;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.strata.blockdrv.error.OnError;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class CommandLineParserTest {

    private static MachineConfig parse(String... args) {
        return new CommandLineParser().parse(Arrays.asList(args));
    }

    /** The one line the launcher would print. */
    private static String error(String... args) {
        return assertThrows(UsageException.class, () -> parse(args)).line();
    }

    @Test
    void driveIdsFollowQemuNamingPerInterface() {
        MachineConfig c = parse("-drive", "file=a.img,if=virtio", "-drive", "file=b.img,if=ide",
                "-drive", "file=c.img,if=virtio", "-drive", "file=d.img", "-drive", "file=e.img,if=ide",
                "-drive", "file=f.img,if=ide", "-drive", "file=g.img,if=none", "-drive", "file=h.img,if=none,id=data");
        assertEquals(List.of("virtio0", "ide0-hd0", "virtio1", "ide0-hd1", "ide1-hd0", "ide1-hd1", "none0", "data"),
                c.drives().stream().map(DriveSpec::id).toList());
        assertEquals(DriveInterface.IDE, c.drives().get(3).iface(), "QEMU's default interface is ide");
    }

    @Test
    void explicitIdStillTakesAnIndex() {
        MachineConfig c = parse("-drive", "file=a,if=virtio,id=top", "-drive", "file=b,if=virtio");
        assertEquals("top", c.drives().get(0).id());
        assertEquals("virtio1", c.drives().get(1).id());
    }

    @Test
    void indexBusAndUnitPlaceIdeDrives() {
        MachineConfig c = parse("-drive", "file=a,if=ide,index=3", "-drive", "file=b,if=ide,bus=1,unit=0",
                "-drive", "file=c,if=ide");
        assertEquals(List.of("ide1-hd1", "ide1-hd0", "ide0-hd0"), c.drives().stream().map(DriveSpec::id).toList());
        assertEquals("strata: -drive file=x,if=ide,index=9: machine type does not support if=ide,bus=4,unit=1",
                error("-drive", "file=x,if=ide,index=9"));
        assertEquals("strata: -drive file=y,if=virtio,index=0: drive with bus=0, unit=0 (index=0) exists",
                error("-drive", "file=x,if=virtio", "-drive", "file=y,if=virtio,index=0"));
        assertTrue(error("-drive", "file=a,if=ide", "-drive", "file=b,if=ide", "-drive", "file=c,if=ide",
                "-drive", "file=d,if=ide", "-drive", "file=e,if=ide").endsWith("machine type does not support if=ide,bus=2,unit=0"));
    }

    @Test
    void driveOptionsReachTheBlockLayer() {
        DriveSpec d = parse("-drive", "file=/x/disk.qcow2,format=qcow2,if=virtio,node-name=top,cache=none,readonly=on,"
                + "rerror=stop,werror=ignore,l2-cache-size=1M,file.locking=off,aio=threads").drives().get(0);
        assertEquals("/x/disk.qcow2", d.file());
        assertEquals("qcow2", d.format());
        assertEquals("top", d.blockOptions().get("node-name"));
        assertEquals("on", d.blockOptions().get("read-only"));
        assertEquals("on", d.blockOptions().get("cache.direct"), "cache=none bypasses the host cache");
        assertEquals("1M", d.blockOptions().get("l2-cache-size"));
        assertEquals("off", d.blockOptions().get("file.locking"));
        assertEquals("none", d.cache());
        assertTrue(d.readOnly());
        assertEquals(OnError.STOP, d.rerror());
        assertEquals(OnError.IGNORE, d.werror());
        assertFalse(d.blockOptions().containsKey("if"));
        assertFalse(d.blockOptions().containsKey("cache"));
    }

    @Test
    void defaultsAreQemus() {
        DriveSpec d = parse("-drive", "disk.img").drives().get(0);
        assertEquals("disk.img", d.file(), "a leading bare word is the file");
        assertNull(d.format(), "no format = probe");
        assertEquals("writeback", d.cache());
        assertEquals(OnError.REPORT, d.rerror());
        assertEquals(OnError.ENOSPC, d.werror());
        assertFalse(d.readOnly());
    }

    @Test
    void doubledCommaIsALiteralComma() {
        assertEquals("a,b.img", parse("-drive", "file=a,,b.img,if=virtio").drives().get(0).file());
        assertEquals("x,,y", parse("-drive", "file=x,,,,y,if=none").drives().get(0).file());
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "-drive file=x,if=bogus|unsupported bus type 'bogus'",
        "-drive file=x,if=scsi|if=scsi is not supported (Strata has if=virtio, if=ide and if=none)",
        "-drive file=x,cache=bogus|invalid cache option",
        "-drive file=x,rerror=enospc|'enospc' invalid read error action",
        "-drive file=x,werror=bogus|'bogus' invalid write error action",
        "-drive file=x,readonly=maybe|Parameter 'read-only' expects 'on' or 'off'",
        "-drive file=x,bps=1|-drive option 'bps' is not supported by Strata",
        "-drive file=x,noequals|Expected '=' after parameter 'noequals'",
        "-drive if=virtio|a drive needs a file= (empty drives are not supported)",
        "-drive file=x,media=cdrom|media=cdrom is not supported (Strata has disks only)",
        "-drive file=x,index=-1|Parameter 'index' expects a value between 0 and 1048576",
        "-drive file=x,index=zz|Parameter 'index' expects a number",
        "-drive file=x,,a,if=none,=3|Invalid parameter ''",
        "-drive ,if=none|a drive needs a file= (empty drives are not supported)",
    })
    void badDriveOptionsNameTheOption(String cmd, String message) {
        String[] parts = cmd.split(" ", 2);
        assertEquals("strata: " + cmd + ": " + message, error(parts[0], parts[1]));
    }

    @Test
    void duplicateIdsAreRefused() {
        assertEquals("strata: -drive file=b,id=a: Duplicate ID 'a' for drive", error("-drive", "file=a,id=a", "-drive", "file=b,id=a"));
        assertEquals("strata: -drive file=b,node-name=n: Duplicate nodes with node-name='n'",
                error("-drive", "file=a,node-name=n", "-drive", "file=b,node-name=n"));
    }

    @Test
    void unknownAndIncompleteOptions() {
        assertEquals("strata: -foo: invalid option", error("-foo"));
        assertEquals("strata: -foo: invalid option", error("--foo", "bar"));
        assertEquals("strata: -drive: requires an argument", error("-drive"));
        assertEquals("strata: -m: requires an argument", error("-S", "-m"));
        assertTrue(error("disk.img").startsWith("strata: disk.img: unexpected argument"));
    }

    @Test
    void ignoredOptionsAreAccepted() {
        MachineConfig c = parse("-machine", "pc,accel=kvm", "-M", "q35", "-nodefaults", "-display", "none", "-nographic",
                "-m", "512", "-enable-kvm", "-cpu", "host", "-smp", "2", "-accel", "kvm", "--name", "lab1", "-S");
        assertTrue(c.startPaused());
        assertEquals("lab1", c.name());
        assertTrue(c.drives().isEmpty());
        assertEquals(Endpoint.Kind.NONE, c.monitor().kind(), "-nodefaults drops the default monitor");
    }

    @Test
    void nameTakesQemusGuestKey() {
        assertEquals("vm", parse("-name", "guest=vm,debug-threads=on").name());
    }

    @Test
    void monitorAndQmpEndpoints() {
        MachineConfig c = parse("-monitor", "unix:/tmp/h.sock,server=on,wait=off", "-qmp", "unix:/tmp/q.sock,server,nowait",
                "-qmp", "unix:/tmp/q2.sock,server=on,wait=off");
        assertEquals(Endpoint.Kind.UNIX, c.monitor().kind());
        assertEquals(Path.of("/tmp/h.sock"), c.monitor().path());
        assertFalse(c.monitor().waitForClient());
        assertEquals(2, c.qmp().size());
        assertEquals(Path.of("/tmp/q.sock"), c.qmp().get(0).path());
        assertFalse(c.qmp().get(0).waitForClient(), "nowait is QEMU's old spelling of wait=off");
        assertTrue(parse("-qmp", "unix:/tmp/q.sock,server=on").qmp().get(0).waitForClient(), "QEMU defaults to wait=on");
        assertEquals(Endpoint.Kind.STDIO, parse().monitor().kind(), "default monitor is stdio");
        assertEquals(Endpoint.Kind.STDIO, parse("-monitor", "stdio").monitor().kind());
        assertEquals(Endpoint.Kind.NONE, parse("-monitor", "none").monitor().kind());
    }

    @Test
    void chardevAndMonLongForm() {
        MachineConfig c = parse("-chardev", "socket,id=hmp0,path=/tmp/vm.hmp,server=on,wait=off",
                "-mon", "chardev=hmp0,mode=readline", "-chardev", "socket,id=qmp0,path=/tmp/vm.qmp,server=on,wait=off",
                "-mon", "chardev=qmp0,mode=control,pretty=on", "-nodefaults");
        assertEquals(Path.of("/tmp/vm.hmp"), c.monitor().path());
        assertEquals(Path.of("/tmp/vm.qmp"), c.qmp().get(0).path());
        assertEquals("strata: -mon chardev=nope: chardev \"nope\" not found", error("-mon", "chardev=nope"));
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "-monitor|foo:bar|'foo:bar' is not a valid char driver",
        "-monitor|vc|'vc' is not supported by Strata (use stdio, none or unix:PATH,server=on,wait=off)",
        "-monitor|unix:/tmp/x|only listening sockets are supported: add server=on,wait=off",
        "-monitor|unix:,server=on|chardev: socket: no unix socket path given",
        "-qmp|bogus|'bogus' is not a valid char driver",
        "-qmp|stdio|QMP on stdio is not supported (use unix:PATH,server=on,wait=off)",
        "-qmp|unix:/tmp/q,server=on,wait=maybe|Parameter 'wait' expects 'on' or 'off'",
        "-chardev|socket,path=/tmp/x|chardev: no id specified",
        "-chardev|socket,id=c,host=localhost,port=4444,server=on|TCP sockets are not supported by Strata (use path=PATH)",
        "-mon|chardev=c,mode=bogus|Parameter 'mode' does not accept value 'bogus'",
    })
    void badMonitorOptions(String opt, String value, String message) {
        assertEquals("strata: " + opt + " " + value + ": " + message, error(opt, value));
    }

    @Test
    void samePathTwiceIsRefused() {
        assertTrue(error("-monitor", "unix:/tmp/s,server=on,wait=off", "-qmp", "unix:/tmp/s,server=on,wait=off")
                .endsWith("socket path '/tmp/s' is used twice"));
    }

    @Test
    void blockdevKeyValueAndJsonGiveTheSameOptions() {
        BlockdevSpec kv = parse("-blockdev", "driver=qcow2,node-name=top,file.driver=file,file.filename=/x/t.qcow2,"
                + "backing=base,cache.direct=on,l2-cache-size=2M,read-only=off").blockdevs().get(0);
        BlockdevSpec js = parse("-blockdev", "{\"driver\":\"qcow2\",\"node-name\":\"top\",\"file\":{\"driver\":\"file\","
                + "\"filename\":\"/x/t.qcow2\"},\"backing\":\"base\",\"cache\":{\"direct\":true},\"l2-cache-size\":\"2M\","
                + "\"read-only\":false}").blockdevs().get(0);
        assertEquals("top", kv.nodeName());
        assertEquals(kv.options(), js.options());
        assertEquals("null", parse("-blockdev", "{\"driver\":\"raw\",\"node-name\":\"n\",\"file\":\"f\",\"backing\":null}")
                .blockdevs().get(0).options().get("backing"));
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "driver=raw,file=f|'node-name' must be specified for the root node",
        "node-name=x,file=f|Parameter 'driver' is missing",
        "driver=raw,node-name=1bad,file=f|Invalid node-name: '1bad'",
        "driver=raw,node-name=n,node-name=m|Parameter 'node-name' is set more than once",
        "{\"driver\":|JSON parse error, Unexpected end-of-input: expected close marker for Object (start marker at [Source: REDACTED (`StreamReadFeature.INCLUDE_SOURCE_IN_LOCATION` disabled); line: 1, column: 1])",
    })
    void badBlockdev(String value, String message) {
        String line = error("-blockdev", value);
        assertTrue(line.startsWith("strata: -blockdev " + value + ": "), line);
        if (!value.startsWith("{")) {
            assertEquals("strata: -blockdev " + value + ": " + message, line);
        }
    }

    @Test
    void jsonBlockdevMustBeAnObject() {
        assertEquals("strata: -blockdev {: JSON parse error, Unexpected end-of-input: expected close marker for Object"
                .substring(0, 40), error("-blockdev", "{").substring(0, 40));
        assertTrue(error("-blockdev", "{\"driver\":\"raw\",\"node-name\":\"n\",\"file\":{}}").contains("must not be an empty object"));
    }

    @Test
    void devicesAttachToDrivesOrNodes() {
        MachineConfig c = parse("-drive", "file=a.img,if=none,id=d0", "-device", "virtio-blk-pci,drive=d0,id=vd0",
                "-blockdev", "driver=file,filename=b.img,node-name=f1", "-blockdev", "driver=raw,file=f1,node-name=disk1",
                "-device", "ide-hd,drive=disk1", "-device", "virtio-blk,drive=none1", "-drive", "file=c.img,if=none");
        assertEquals(3, c.devices().size());
        assertEquals(new DeviceSpec(DeviceModel.VIRTIO_BLK_PCI, "d0", "vd0", "-device virtio-blk-pci,drive=d0,id=vd0"), c.devices().get(0));
        assertEquals(DeviceModel.IDE_HD, c.devices().get(1).model());
        assertNull(c.devices().get(1).id());
        assertTrue(c.devices().get(2).model().isVirtio());
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "nosuch,drive=d0|'nosuch' is not a valid device model name",
        "virtio-blk-pci|drive property not set",
        "virtio-blk-pci,drive=nope|Property 'virtio-blk-pci.drive' can't find value 'nope'",
        "virtio-blk-pci,drive=d0,bogus=1|Property 'virtio-blk-pci.bogus' not found",
        "help|Strata's device models: virtio-blk-pci, virtio-blk, ide-hd",
    })
    void badDevices(String value, String message) {
        assertEquals("strata: -device " + value + ": " + message, error("-drive", "file=a,if=none,id=d0", "-device", value));
    }

    @Test
    void aDriveServesOneDevice() {
        assertTrue(error("-drive", "file=a,if=virtio", "-device", "ide-hd,drive=virtio0").endsWith("is already in use by if=virtio (use if=none)"));
        assertTrue(error("-drive", "file=a,if=none,id=d", "-device", "ide-hd,drive=d", "-device", "virtio-blk,drive=d")
                .endsWith("Drive 'd' is already in use by another device"));
        assertTrue(error("-drive", "file=a,if=none,id=d", "-drive", "file=b,if=none,id=e", "-device", "ide-hd,drive=d,id=x",
                "-device", "ide-hd,drive=e,id=x").endsWith("Duplicate device ID 'x'"));
    }

    @Test
    void guestWorkloadsUseTheGuestsOwnSpec() {
        MachineConfig c = parse("-guest", "drive=virtio0,rw=randrw,bs=4k,iodepth=8,runtime=30,verify=on",
                "-guest", "rw=read,bs=64k,iodepth=1,rwmixread=70,rate_iops=100,offset=1M,size=8M,seed=7,runtime=2m");
        var g = c.guests().get(0).workload();
        assertEquals("virtio0", g.drive());
        assertEquals("randrw", g.rw().keyword());
        assertEquals(4096, g.blockSize());
        assertEquals(8, g.ioDepth());
        assertEquals(Duration.ofSeconds(30), g.runtime());
        assertTrue(g.verify());
        var h = c.guests().get(1).workload();
        assertNull(h.drive());
        assertEquals(65536, h.blockSize());
        assertEquals(70, h.rwMixRead());
        assertEquals(100, h.rateIops());
        assertEquals(1 << 20, h.offset());
        assertEquals(8 << 20, h.size());
        assertEquals(7L, h.seed());
        assertEquals(Duration.ofMinutes(2), h.runtime());
        assertNull(parse("-guest", "rw=write").guests().get(0).workload().runtime(), "no runtime = until quit");
    }

    @Test
    void badGuestsNameTheOption() {
        assertEquals("strata: -guest script=lab.strata: a scenario script can only be given on bin/strata's own command line",
                error("-guest", "script=lab.strata"));
        assertEquals("strata: -guest script=lab.strata,rw=read: script= cannot be combined with workload keys; give it as its own -guest script=FILE",
                error("-guest", "script=lab.strata,rw=read"));
        for (String bad : List.of("rw=sideways", "bs=1000", "bs=lots", "iodepth=0", "runtime=soon", "verify=perhaps",
                "color=blue", "rw=read,rw=write", "", "noequals")) {
            String line = error("-guest", bad);
            assertTrue(line.startsWith("strata: -guest " + bad + ": "), line);
            assertFalse(line.contains("guest workload: "), "the prefix is dropped: " + line);
        }
        assertEquals("strata: -guest color=blue: unknown key 'color'", error("-guest", "color=blue"));
    }
}
