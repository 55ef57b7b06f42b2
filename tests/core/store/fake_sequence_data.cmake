# TEMPORARY (store-project-jobs branch): the serialisation of SequenceData and DatasetStats is
# implemented on the data-layer branch. Until it is merged, every test executable that links
# reasonrec_core needs stand-ins for those symbols. This file sets RR_FAKE_SEQUENCE_DATA_SOURCES
# to the fake when core/data has no real implementation, and to nothing once it has.
# Delete this file and fake_sequence_data.cpp at merge; includers use include(... OPTIONAL).
set(RR_FAKE_SEQUENCE_DATA_SOURCES "")
file(GLOB _rr_core_data_sources ${PROJECT_SOURCE_DIR}/core/data/*.cpp)
set(_rr_have_real_serialisation FALSE)
foreach(_rr_src ${_rr_core_data_sources})
  file(STRINGS ${_rr_src} _rr_hits REGEX "deserializeSequenceData[ \t]*\\(")
  if(_rr_hits)
    set(_rr_have_real_serialisation TRUE)
  endif()
endforeach()
if(NOT _rr_have_real_serialisation)
  set(RR_FAKE_SEQUENCE_DATA_SOURCES ${CMAKE_CURRENT_LIST_DIR}/fake_sequence_data.cpp)
endif()
