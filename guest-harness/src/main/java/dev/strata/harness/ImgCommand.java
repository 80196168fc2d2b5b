package dev.strata.harness;

import java.io.PrintStream;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;

/**
 * {@code strata img ...}: hands the words to the block layer's image tool.
 *
 * <p>Stateless; any thread.
 */
final class ImgCommand {

    private static final String TOOL = "dev.strata.blockdrv.img.ImgTool";

    private ImgCommand() {
    }

    static int run(String[] args, PrintStream out, PrintStream err) {
        Method m;
        try {
            // looked up by name until the image tool lands in blockdrv; then this becomes a plain call
            m = Class.forName(TOOL).getMethod("run", String[].class, PrintStream.class, PrintStream.class);
        } catch (ReflectiveOperationException e) {
            err.println("strata: img: the image tool is not in this build yet");
            return 1;
        }
        try {
            return (Integer) m.invoke(null, args, out, err);
        } catch (InvocationTargetException e) {
            err.println("strata: img: " + e.getCause());
            return 1;
        } catch (IllegalAccessException e) {
            err.println("strata: img: " + e);
            return 1;
        }
    }
}
