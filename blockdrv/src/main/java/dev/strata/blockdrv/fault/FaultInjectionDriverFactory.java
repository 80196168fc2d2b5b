package dev.strata.blockdrv.fault;

import dev.strata.blockdrv.BlockDriver;
import dev.strata.blockdrv.BlockDriverFactory;
import dev.strata.blockdrv.BlockException;
import dev.strata.blockdrv.BlockNode;
import dev.strata.blockdrv.BlockOptions;
import java.util.Locale;

/**
 * Factory of the {@code fault-injection} filter. Optional start-up rule from options:
 * {@code errno=EIO|ENOSPC}, {@code op=read|write|flush|any}, {@code offset}, {@code length},
 * {@code count}. More rules are added at run time with {@link FaultInjectionDriver#inject}.
 */
public final class FaultInjectionDriverFactory implements BlockDriverFactory {

    @Override
    public String name() {
        return "fault-injection";
    }

    @Override
    public boolean isProtocol() {
        return false;
    }

    @Override
    public java.util.Set<String> runtimeOptions() {
        return java.util.Set.of("errno", "op", "offset", "length", "count");
    }

    @Override
    public BlockDriver open(BlockNode node, BlockOptions o) {
        FaultInjectionDriver d = new FaultInjectionDriver(node);
        if (o.has("errno")) {
            BlockException.Kind kind = switch (o.get("errno").toUpperCase(Locale.ROOT)) {
                case "EIO" -> BlockException.Kind.IO;
                case "ENOSPC" -> BlockException.Kind.NO_SPACE;
                default -> throw BlockException.invalid("errno must be EIO or ENOSPC");
            };
            FaultRule.Op op = FaultRule.Op.valueOf(o.get("op", "any").toUpperCase(Locale.ROOT));
            d.inject(new FaultRule(op, o.getSize("offset", 0), o.getSize("length", Long.MAX_VALUE), kind,
                    Long.parseLong(o.get("count", "-1"))));
        }
        return d;
    }
}
