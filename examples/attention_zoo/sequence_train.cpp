#include "examples/attention_zoo/sequence_train.hpp"
#include "engine/error.hpp"
namespace zoo {
SequenceResult train_sequence_task(SequenceTask, const SequenceOptions&) { heed::fail("todo"); }
void run_sequence_task(SequenceTask, const SequenceOptions&) { heed::fail("todo"); }
}
