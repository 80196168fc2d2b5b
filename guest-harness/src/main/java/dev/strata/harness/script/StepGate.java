package dev.strata.harness.script;

/**
 * Asked before each step of a run; an attended run ({@code strata run --step}) shows the step and
 * waits for the instructor. Called on the runner's thread.
 */
@FunctionalInterface
public interface StepGate {

    /** A gate that never stops: unattended runs. */
    StepGate NONE = (step, number, count) -> true;

    /**
     * @param number the step's position, from 1
     * @param count  how many steps the script has
     * @return false to end the run here (the instructor quit)
     */
    boolean beforeStep(Step step, int number, int count);
}
